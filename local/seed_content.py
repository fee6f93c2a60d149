"""Seed content: a few playable titles made with the project's ffmpeg (moving test patterns with a
tone) and sent through the real path -- the catalog API, a presigned upload, the ingest rule, the
transcode state machine -- so a newcomer can press play on the first visit.

`make up` runs it in the background once the cloud is ready (REELSTACK_SEED_CONTENT=1). It is
idempotent: a title that exists under the same name (and, for episodes, the same slot) is left
alone, so a restart with --keep-state publishes nothing twice. The e2e tests use `publish` too.

    python -m local.seed_content [--state-dir .reelstack]   # against a running cloud
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

log = logging.getLogger("reelstack.local.seed")


@dataclass(frozen=True)
class Clip:
    title: str
    seconds: float
    maturity_rating: str = "PG"
    pattern: str = "testsrc2"  # an ffmpeg lavfi source that moves
    tone_hz: int = 440
    width: int = 854
    height: int = 480
    genres: tuple[str, ...] = ("documentary",)
    description: str = "A moving test pattern with a tone."
    year: int = 2026
    # episodes: the series' title and the slot
    series: str | None = None
    season: int | None = None
    number: int | None = None


@dataclass(frozen=True)
class Series:
    title: str
    maturity_rating: str = "TV-Y7"
    genres: tuple[str, ...] = ("animation",)
    description: str = "A series of test patterns."
    year: int = 2026


@dataclass
class Catalogue:
    series: list[Series] = field(default_factory=list)
    clips: list[Clip] = field(default_factory=list)


# One title longer than a minute, a series with episodes, something for kids and something adult.
DEMO = Catalogue(
    series=[Series("Pattern Stories", description="Three short episodes of shapes that move.")],
    clips=[
        Clip("Ocean of Patterns", 75, "PG", "testsrc2", 440, genres=("documentary", "nature"),
             description="Seventy-five seconds of a moving test card and a steady A4 tone."),
        Clip("Night Circuit", 30, "R", "testsrc", 330, genres=("thriller",),
             description="A counter runs through the night (rated R)."),
        Clip("Little Shapes", 20, "G", "rgbtestsrc,hue=H=2*PI*t", 523, genres=("kids", "animation"),
             description="Colours turning slowly, for the youngest viewers."),
        *(Clip(f"Pattern Stories {n}", 20, "TV-Y7", pattern, tone, genres=("animation",),
               series="Pattern Stories", season=1, number=n)
          for n, pattern, tone in ((1, "testsrc2", 392), (2, "testsrc", 494), (3, "smptebars,hue=H=t", 587))),
    ],
)


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except ImportError:
        found = shutil.which("ffmpeg")
        if not found:
            raise
        return found


def make_clip(clip: Clip, out_dir: Path) -> Path:
    """The clip's source file (H.264 + AAC in MP4), made once and kept in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() else "-" for c in clip.title.lower())
    path = out_dir / f"{name}-{clip.width}x{clip.height}-{clip.seconds:g}s.mp4"
    if path.exists() and path.stat().st_size > 0:
        return path
    source, _, filt = clip.pattern.partition(",")
    video = f"{source}=size={clip.width}x{clip.height}:rate=25:duration={clip.seconds}" + (f",{filt}" if filt else "")
    tmp = path.with_suffix(".tmp.mp4")
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-y",
           "-f", "lavfi", "-i", video,
           "-f", "lavfi", "-i", f"sine=frequency={clip.tone_hz}:sample_rate=48000:duration={clip.seconds}",
           "-map", "0:v", "-map", "1:a", "-vf", "format=yuv420p", "-c:v", "libx264", "-preset", "veryfast",
           "-g", "50", "-c:a", "aac", "-b:a", "96k", "-ac", "2", "-shortest", "-movflags", "+faststart", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"ffmpeg failed for {clip.title}: {proc.stderr[-600:]}")
    tmp.replace(path)
    return path


class Publisher:
    """Talks to the catalog API as the admin."""

    def __init__(self, api_url: str, admin: dict[str, str], http: requests.Session | None = None) -> None:
        self.api = api_url.rstrip("/")
        self.http = http or requests.Session()
        self.headers: dict[str, str] = {}
        r = self._call("POST", "/accounts/login", json={"email": admin["email"], "password": admin["password"]})
        r.raise_for_status()
        self.headers = {"authorization": f"Bearer {r.json()['access_token']}"}

    def _call(self, method: str, path: str, **kw: Any) -> requests.Response:
        # Right after start-up a function's cold start can exceed its timeout on a busy machine (a 5xx):
        # reads and the login are asked again; a create is not (it could make the title twice).
        for attempt in range(4):
            r = self.http.request(method, f"{self.api}{path}", headers=self.headers, timeout=60, **kw)
            if r.status_code < 500 or (method == "POST" and path == "/titles") or attempt == 3:
                return r
            time.sleep(2.0 * (attempt + 1))
        return r

    def existing(self) -> dict[str, dict[str, Any]]:
        """Titles by name (the newest of each name wins)."""
        found: dict[str, dict[str, Any]] = {}
        cursor: str | None = None
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            r = self._call("GET", "/titles", params=params)
            r.raise_for_status()
            page = r.json()
            for t in page["items"]:
                found.setdefault(t["title"], t)
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    def create(self, body: dict[str, Any]) -> str:
        r = self._call("POST", "/titles", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"create {body['title']}: {r.status_code} {r.text[:300]}")
        return str(r.json()["title_id"])

    def upload(self, title_id: str, source: Path) -> None:
        r = self._call("POST", f"/titles/{title_id}/upload", json={"size_bytes": source.stat().st_size})
        if r.status_code != 200:
            raise RuntimeError(f"upload {title_id}: {r.status_code} {r.text[:300]}")
        up = r.json()
        put = self.http.request(up.get("method", "PUT"), up["upload_url"], data=source.read_bytes(),
                                headers=up.get("headers") or {}, timeout=120)
        if put.status_code != 200:
            raise RuntimeError(f"PUT {title_id}: {put.status_code} {put.text[:300]}")

    def status(self, title_id: str) -> dict[str, Any]:
        r = self._call("GET", f"/titles/{title_id}")
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]


def publish(api_url: str, admin: dict[str, str], catalogue: Catalogue, media_dir: Path,
            wait_s: float = 900, progress: Callable[[str], None] = log.info,
            stop: threading.Event | None = None) -> dict[str, dict[str, Any]]:
    """Create and upload whatever of `catalogue` is missing; wait until every title settles.
    Returns the titles by name (their final views)."""
    pub = Publisher(api_url, admin)
    have = pub.existing()
    ids: dict[str, str] = {}
    for s in catalogue.series:
        if s.title in have:
            ids[s.title] = have[s.title]["title_id"]
            continue
        ids[s.title] = pub.create({"title": s.title, "kind": "series", "description": s.description,
                                   "genres": list(s.genres), "cast": [], "language": "en",
                                   "maturity_rating": s.maturity_rating, "year": s.year})
    pending: list[str] = []
    for c in catalogue.clips:
        known = have.get(c.title)
        if known and known["status"] not in ("UPLOADING", "FAILED"):
            ids[c.title] = known["title_id"]  # READY or on its way: nothing to do
            if known["status"] != "READY":
                pending.append(c.title)
            continue
        source = make_clip(c, media_dir)
        if known:
            title_id = known["title_id"]  # a run that stopped before its upload, or a failed transcode: again
        else:
            body: dict[str, Any] = {"title": c.title, "description": c.description, "genres": list(c.genres),
                                    "cast": ["Test Pattern"], "language": "en", "maturity_rating": c.maturity_rating,
                                    "year": c.year}
            if c.series:
                body |= {"kind": "episode", "series_id": ids[c.series], "season": c.season, "number": c.number}
            title_id = pub.create(body)
        pub.upload(title_id, source)
        ids[c.title] = title_id
        pending.append(c.title)
        progress(f"  seed            {c.title}: uploaded ({c.seconds:g} s source), transcoding")
    deadline = time.monotonic() + wait_s
    views: dict[str, dict[str, Any]] = {}
    while pending and time.monotonic() < deadline and not (stop and stop.is_set()):
        for name in list(pending):
            view = pub.status(ids[name])
            if view["status"] in ("READY", "FAILED"):
                pending.remove(name)
                views[name] = view
                progress(f"  seed            {name}: {view['status']}")
        time.sleep(1.0)
    for name, title_id in ids.items():
        views.setdefault(name, pub.status(title_id))
    return views


def start_in_background(endpoints: dict[str, Any], state_dir: Path, stop: threading.Event,
                        progress: Callable[[str], None]) -> threading.Thread:
    def run() -> None:
        t0 = time.perf_counter()
        try:
            views = publish(endpoints["api_url"], endpoints["admin"], DEMO, state_dir / "seed-media",
                            progress=progress, stop=stop)
            ready = sum(1 for v in views.values() if v["status"] == "READY" and v.get("kind") != "series")
            progress(f"  seed            {ready} playable title(s) ready ({time.perf_counter() - t0:.0f} s)")
        except Exception:
            log.exception("seeding the demo titles failed (the platform runs without them)")

    t = threading.Thread(target=run, daemon=True, name="seed-content")
    t.start()
    return t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.seed_content", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path, default=Path(".reelstack"))
    args = parser.parse_args(argv)
    endpoints = json.loads((args.state_dir / "endpoints.json").read_text())
    t0 = time.perf_counter()
    views = publish(endpoints["api_url"], endpoints["admin"], DEMO, args.state_dir / "seed-media", progress=print)
    print(json.dumps({"titles": {k: v["status"] for k, v in views.items()},
                      "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    raise SystemExit(main())
