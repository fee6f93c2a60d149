"""Fixtures of the delivery unit tests: a synthetic published title laid out as the transcoder
writes it (contract B: tiers nested by plan cap), a stand-in CDN over real HTTP that checks grants
with the same verifier the local edges use, and the prefill ledger table in moto."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

_REPO = Path(__file__).resolve().parents[3]
for _path in (_REPO / "layers" / "shared" / "python", _REPO / "functions" / "delivery"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from reelstack_common import cdn_signing  # noqa: E402

KEY_ID = "KTESTPREFILL"
SEGMENT_S = 4.0
TIERS = {  # rendition -> tier path (contract B with caps 720 < 1080 < 2160)
    "2160p": "cap2160/",
    "1080p": "cap2160/cap1080/",
    "720p": "cap2160/cap1080/cap720/",
    "480p": "cap2160/cap1080/cap720/",
    "audio": "cap2160/cap1080/cap720/",
}


def media_playlist(segments: int, seconds: float = SEGMENT_S) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{int(seconds)}", "#EXT-X-PLAYLIST-TYPE:VOD"]
    lines.append('#EXT-X-MAP:URI="init.mp4"')
    for i in range(segments):
        lines += [f"#EXTINF:{seconds:.3f},", f"seg_{i:05d}.m4s"]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


def master_playlist(entries: list[str]) -> str:
    """entries: paths of media playlists relative to the master (audio first if any)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7"]
    audio = [e for e in entries if "audio" in e]
    for a in audio:
        lines.append(f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="main",DEFAULT=YES,URI="{a}"')
    for e in entries:
        if "audio" not in e:
            lines += ['#EXT-X-STREAM-INF:BANDWIDTH=1000000,AUDIO="aud"', e]
    return "\n".join([*lines, ""])


def title_objects(title_id: str, duration_s: float = 1200.0) -> dict[str, bytes]:
    """Every object of a published title: 5 renditions of ``duration_s`` in 4 s segments."""
    root = f"titles/{title_id}/hls/"
    objects: dict[str, bytes] = {}
    count = int(duration_s // SEGMENT_S)
    for rendition, tier in TIERS.items():
        base = f"{root}{tier}{rendition}/"
        objects[f"{base}playlist.m3u8"] = media_playlist(count).encode()
        objects[f"{base}init.mp4"] = b"I" * 100
        for i in range(count):
            objects[f"{base}seg_{i:05d}.m4s"] = b"S" * 1000
    for tier in ("cap2160/", "cap2160/cap1080/", "cap2160/cap1080/cap720/"):
        inside = [f"{t[len(tier):]}{r}/playlist.m3u8" for r, t in TIERS.items() if t.startswith(tier)]
        objects[f"{root}{tier}master.m3u8"] = master_playlist(inside).encode()
    objects[f"{root}master.m3u8"] = master_playlist([f"{t}{r}/playlist.m3u8" for r, t in TIERS.items()]).encode()
    return objects


def published_event(title_id: str, version: int = 1, **detail: Any) -> dict[str, Any]:
    root = f"titles/{title_id}/hls/"
    tiers = [
        {"max_height": cap, "prefix": f"{root}{path}", "master": f"{root}{path}master.m3u8", "renditions": names}
        for cap, path, names in (
            (720, "cap2160/cap1080/cap720/", ["480p", "720p"]),
            (1080, "cap2160/cap1080/", ["1080p"]),
            (2160, "cap2160/", ["2160p"]),
        )
    ]
    body = {
        "title_id": title_id,
        "version": version,
        "manifest_path": f"{root}master.m3u8",
        "playback_tiers": tiers,
        "renditions": [],
        "duration_s": 1200.0,
        "kind": "movie",
        **detail,
    }
    return {"version": "0", "id": "e-1", "detail-type": "TitlePublished", "source": "reelstack.catalog", "detail": body}


@dataclass
class FakeCdnServer:
    """An HTTP server standing in for CloudFront / the front door: grants are checked with
    ``cdn_signing.verify``; answers 403 on a bad grant, 404 for unknown keys; ``fail`` maps a key to
    a list of statuses to answer first (then the object)."""

    public_keys: dict[str, bytes]
    objects: dict[str, bytes] = field(default_factory=dict)
    fail: dict[str, list[int]] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (key, copies header)
    refusals: list[str] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, path_qs: str, headers: Any) -> tuple[int, bytes]:
        parts = urlsplit(path_qs)
        key = parts.path.lstrip("/")
        reason = cdn_signing.verify(
            url=f"{self.url}{path_qs}",
            params=cdn_signing.signing_params_from_query(parts.query),
            public_keys=self.public_keys,
            now=__import__("time").time(),
        )
        with self._lock:
            self.requests.append((key, headers.get("X-Reelstack-Prefill-Copies")))
            if reason is not None:
                self.refusals.append(reason)
                return 403, b""
            queued = self.fail.get(key)
            if queued:
                return queued.pop(0), b""
        if key not in self.objects:
            return 404, b""
        return 200, self.objects[key]

    def fetched(self) -> list[str]:
        return [k for k, _ in self.requests]


@pytest.fixture(scope="session")
def signing_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def private_pem(signing_key: Any) -> bytes:
    return signing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="session")
def public_pem(signing_key: Any) -> bytes:
    return signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def cdn_server(public_pem: bytes) -> Iterator[FakeCdnServer]:
    state = FakeCdnServer(public_keys={KEY_ID: public_pem})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 -- http.server's spelling
            status, body = state.handle(self.path, self.headers)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def signer(cdn_server: FakeCdnServer, private_pem: bytes) -> cdn_signing.CdnSigner:
    return cdn_signing.CdnSigner(cdn_url=cdn_server.url, key_pair_id=KEY_ID, private_key_pem=private_pem)


@pytest.fixture
def ledger_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        table = boto3.resource("dynamodb").create_table(
            TableName="prefill",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield table
