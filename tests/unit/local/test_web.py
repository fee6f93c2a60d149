"""local/web.py: the app's static server and its build stamp."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import web
from local.ports import free_port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><p>app</p>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path / ".stamp").write_text("secret-ish")
    (tmp_path.parent / "outside.txt").write_text("not served")
    port = free_port("127.0.0.1")
    srv = web.serve("127.0.0.1", port, {"api_url": "http://127.0.0.1:1", "cdn_url": "http://127.0.0.1:2"}, tmp_path)
    yield f"http://127.0.0.1:{port}"
    srv.shutdown()
    srv.server_close()


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_config_names_this_clouds_api_and_is_never_cached(served: str) -> None:
    status, headers, body = _get(f"{served}/config.json")
    assert status == 200 and json.loads(body) == {"api_url": "http://127.0.0.1:1", "cdn_url": "http://127.0.0.1:2"}
    assert headers["cache-control"] == "no-store"


def test_app_routes_get_index_assets_are_immutable_and_nothing_else_leaks(served: str) -> None:
    for path in ("/", "/home", "/title/abc"):
        status, headers, body = _get(served + path)
        assert status == 200 and b"<p>app</p>" in body and headers["cache-control"] == "no-cache"
    status, headers, _ = _get(f"{served}/assets/index-abc.js")
    assert status == 200 and "immutable" in headers["cache-control"]
    assert headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert _get(f"{served}/assets/missing.js")[0] == 404
    assert _get(f"{served}/.stamp")[0] == 404
    for path in ("/../outside.txt", "/%2e%2e/outside.txt", "/assets/../../outside.txt"):
        assert b"not served" not in _get(served + path)[2]


def test_the_build_stamp_follows_the_sources(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.ts").write_text("a")
    (tmp_path / "index.html").write_text("x")
    first = web.sources_digest(tmp_path)
    assert web.sources_digest(tmp_path) == first
    (tmp_path / "src" / "main.ts").write_text("b")
    assert web.sources_digest(tmp_path) != first


def test_without_node_modules_the_build_says_why(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("x")
    assert web.build_if_stale(tmp_path).startswith("not built: web/node_modules is missing")
