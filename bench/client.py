"""The web client's figures (issue 16), in Debian chromium driven by Playwright against a local cloud:

- click-play -> first frame (warm: the player's code and the title's first segments cached on the
  edges, functions warm), median of --plays runs from the title page's Play button;
- rebuffers (count, seconds) over --seconds of play with the real 300 s buffer, unthrottled and
  throttled (CDP Network.emulateNetworkConditions, --throttle-kbps, 40 ms latency);
- JavaScript shipped, gzip (the first load, and the player chunk loaded on play);
- heartbeats sent by the player vs acknowledged by the playback API (2xx), and the seq the server
  holds at the end.

    python -m bench.client [--state-dir DIR_OF_A_RUNNING_CLOUD] [--seconds 60] [--plays 3]

Without --state-dir it starts its own cloud on free ports. The title is published through the real
ingest path (local/seed_content.py) if missing. Prints JSON; the last line is the summary.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local.seed_content import Catalogue, Clip, publish  # noqa: E402

TITLE = Clip("Bench Long Pattern", 80, "PG", "testsrc2", 440, genres=("documentary",))


def js_bytes(dist: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in sorted((dist / "assets").glob("*.js")):
        kind = "player" if f.name.startswith("watch") else "first_load"
        out[f"{kind}_gzip_bytes"] = out.get(f"{kind}_gzip_bytes", 0) + len(gzip.compress(f.read_bytes(), 9))
    return out


def run(endpoints: dict[str, Any], seconds: float, plays: int, throttle_kbps: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import FLAGS, create_profile, sign_up

    media = Path(tempfile.mkdtemp(prefix="bench-client-"))
    views = publish(endpoints["api_url"], endpoints["admin"], Catalogue(clips=[TITLE]), media, wait_s=900)
    title_id = views[TITLE.title]["title_id"]
    web = endpoints["web_url"]
    result: dict[str, Any] = {"title_seconds": TITLE.seconds}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 720})
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        sign_up(page, web, plan="premium")
        create_profile(page, "Bench")

        def click_play() -> float:
            page.goto(f"{web}/#/title/{title_id}")
            page.wait_for_selector("button[data-action=play], button[data-action=play-start]")
            page.wait_for_timeout(500)  # the title page prefetches the player's code meanwhile
            btn = page.locator("button[data-action=play-start], button[data-action=play]").first
            btn.click()
            page.wait_for_function("window.__player && window.__player.firstFrameAt", timeout=60_000)
            ms = page.evaluate("window.__player.firstFrameAt - window.__playClickAt")
            page.goto(f"{web}/#/home")  # leaves the player: last heartbeat, session ended
            page.wait_for_timeout(300)
            return float(ms)

        click_play()  # cold: code, functions, edges
        firsts = [click_play() for _ in range(plays)]
        result["click_to_first_frame_ms"] = {"median": round(statistics.median(firsts)),
                                             "runs": [round(x) for x in firsts]}

        def top_from_start() -> dict[str, Any]:
            """The top rendition's first segments played from 0 (issue 16: hls.js reported a
            bufferSeekOverHole there): pin the top level, start at 0, count the hole seeks."""
            page.goto(f"{web}/#/watch/{title_id}?from=start")
            page.wait_for_function("window.__player && window.__player.levels.length > 0", timeout=60_000)
            page.evaluate("window.__player.setLevel(window.__player.levels.length - 1)")
            page.evaluate("document.querySelector('video').currentTime = 0")
            page.wait_for_function("window.__player.currentTime >= 6", timeout=60_000)
            state = page.evaluate("({h: window.__player.currentHeight, errors: window.__player.events"
                                  ".filter(e => e.type === 'hls_error').map(e => e.detail.details)})")
            page.goto(f"{web}/#/home")
            page.wait_for_timeout(300)
            return {"height": state["h"], "buffer_seek_over_hole": state["errors"].count("bufferSeekOverHole"),
                    "hls_errors": sorted(set(state["errors"]))}

        def play(label: str, throttle: bool) -> dict[str, Any]:
            cdp = ctx.new_cdp_session(page)
            cdp.send("Network.enable")
            if throttle:
                rate = throttle_kbps * 1000 / 8
                cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 40,
                                                              "downloadThroughput": rate, "uploadThroughput": rate})
            page.goto(f"{web}/#/watch/{title_id}?from=start")
            page.wait_for_function("window.__player && window.__player.firstFrameAt", timeout=120_000)
            t0 = time.monotonic()
            page.wait_for_function(f"window.__player.currentTime >= {seconds} || "
                                   f"document.querySelector('video').ended", timeout=(seconds * 4 + 60) * 1000)
            wall = time.monotonic() - t0
            state = page.evaluate("({stalls: window.__player.stalls, hb: window.__player.heartbeats, "
                                  "t: window.__player.currentTime, h: window.__player.currentHeight, "
                                  "levels: window.__player.levels.map(l => l.height), "
                                  "errors: window.__player.events.filter(e => e.type === 'hls_error')"
                                  ".map(e => e.detail.details), "
                                  "switches: window.__player.events.filter(e => e.type === 'level_switched').length})")
            if throttle:
                cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                              "downloadThroughput": -1, "uploadThroughput": -1})
            cdp.detach()
            page.goto(f"{web}/#/home")
            page.wait_for_timeout(500)
            return {"label": label, "played_s": round(state["t"], 1), "wall_s": round(wall, 1),
                    "rebuffers": state["stalls"]["count"], "rebuffer_s": round(state["stalls"]["ms"] / 1000, 2),
                    "level_switches": state["switches"], "final_height": state["h"], "levels": state["levels"],
                    "heartbeats_sent": state["hb"]["sent"], "heartbeats_acked": state["hb"]["acked"],
                    "heartbeats_failed": state["hb"]["failed"],
                    "buffer_seek_over_hole": state["errors"].count("bufferSeekOverHole"),
                    "hls_errors": sorted(set(state["errors"]))}

        result["top_rendition_start"] = top_from_start()
        result["unthrottled"] = play("unthrottled", False)
        result["throttled"] = play(f"throttled {throttle_kbps} kbit/s", True)
        browser.close()
    result["js"] = js_bytes(ROOT / "web" / "dist")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.client", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path, help="a running local cloud's state directory")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--plays", type=int, default=3)
    parser.add_argument("--throttle-kbps", type=int, default=1500)
    args = parser.parse_args(argv)
    proc = None
    if args.state_dir:
        endpoints = json.loads((args.state_dir / "endpoints.json").read_text())
    else:
        from tests.integration.conftest import LocalCloudProcess

        proc = LocalCloudProcess(Path(tempfile.mkdtemp(prefix="bench-client-cloud-")))
        endpoints = proc.wait_ready()
    try:
        requests.get(endpoints["web_url"], timeout=10).raise_for_status()
        result = run(endpoints, args.seconds, args.plays, args.throttle_kbps)
    finally:
        if proc is not None:
            proc.stop()
    result["flags"] = {"seconds": args.seconds, "plays": args.plays, "throttle_kbps": args.throttle_kbps}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
