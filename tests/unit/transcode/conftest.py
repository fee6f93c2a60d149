"""Fixtures of the transcode unit tests: generated media, and moto in server mode.

Server mode (ThreadedMotoServer on 127.0.0.1) rather than `mock_aws`: ffmpeg reads sources
through presigned S3 URLs, i.e. real HTTP with Range requests, which only a listening moto can
answer. boto3 reaches it through AWS_ENDPOINT_URL, as in the local cloud and as the code expects.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

_REPO = Path(__file__).resolve().parents[3]
for _path in (_REPO / "functions" / "transcode", _REPO):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from tests.unit.transcode import media_factory  # noqa: E402
from tests.unit.transcode.support import Cloud  # noqa: E402


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def media(media_dir: Path) -> Callable[..., Path]:
    """`media("name", **make_video_kwargs)`: generated once per session, then reused."""

    @functools.cache
    def _make(name: str, **kwargs: object) -> Path:
        tag = hashlib.sha1(repr(sorted(kwargs.items())).encode()).hexdigest()[:8]
        return media_factory.make_video(media_dir / f"{name}-{tag}.mp4", **kwargs)  # type: ignore[arg-type]

    def get(name: str, **kwargs: object) -> Path:
        return _make(name, **kwargs)

    return get


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def cloud(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    env = Cloud.environment(moto_endpoint)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("TRANSCODE_FAULTS", "FFMPEG_PATH"):
        monkeypatch.delenv(name, raising=False)
    Cloud.clear_client_caches()
    c = Cloud(moto_endpoint, env)
    c.provision()
    yield c
    Cloud.clear_client_caches()
