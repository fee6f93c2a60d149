"""The player under network trouble: throttled bandwidth moves it to a lower rendition and back up
when the throttle lifts; an edge stopped mid-play goes unnoticed."""

from __future__ import annotations

import time
from typing import Any

import requests
from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import console_errors, create_profile, shot, sign_up, wait_playing

# A short forward buffer (the ?buffer= test knob) keeps hls.js loading, so its ABR keeps deciding;
# with the real 300 s buffer a short clip is all buffered before any throttle starts.
SHORT_BUFFER = 6


def _watch(page: Page, web: str, title_id: str) -> None:
    page.goto(f"{web}/#/watch/{title_id}?from=start&buffer={SHORT_BUFFER}")
    wait_playing(page, 0.5)


def _signed_in(page: Page, web: str, name: str) -> None:
    sign_up(page, web)
    create_profile(page, name)


def _until(page: Page, expr: str, timeout_s: float) -> None:
    """Wait for a condition on the player; on timeout, fail with what the player saw."""
    try:
        page.wait_for_function(expr, timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        state = page.evaluate("({t: window.__player.currentTime, h: window.__player.currentHeight, "
                              "stalls: window.__player.stalls, events: window.__player.events.slice(-40)})")
        raise AssertionError(f"{expr} not within {timeout_s} s at {page.url}: {state}") from None


def _level_height(page: Page) -> int:
    return int(page.evaluate("window.__player.currentHeight"))


def test_throttled_bandwidth_lowers_the_rendition_and_recovers(
        context: BrowserContext, page: Page, web_cloud: dict[str, Any], titles: dict[str, dict[str, Any]]) -> None:
    web = web_cloud["web_url"]
    _signed_in(page, web, "Throttle")
    title = titles["Ocean of Patterns"]
    _watch(page, web, title["title_id"])
    heights = sorted(lv["height"] for lv in page.evaluate("window.__player.levels"))
    assert len(heights) >= 2, heights
    _until(page, f"window.__player.currentHeight === {heights[-1]}", 30)

    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    # 600 kbit/s: between the test clip's 240p (~430 kbit/s) and 480p (~1.2 Mbit/s) bandwidths
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 40,
                                                  "downloadThroughput": 600_000 / 8,
                                                  "uploadThroughput": 600_000 / 8})
    _until(page, f"window.__player.currentHeight < {heights[-1]}", 40)
    shot(page, "11-player-throttled")
    low = _level_height(page)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    if page.evaluate("document.querySelector('video').duration - window.__player.currentTime") < 20:
        page.evaluate("document.querySelector('video').currentTime = 0")  # room to load more segments
    _until(page, f"window.__player.currentHeight > {low}", 40)
    switches = [e for e in page.evaluate("window.__player.events") if e["type"] == "level_switched"]
    assert len(switches) >= 2, switches
    assert page.evaluate("window.__player.autoLevel") is True
    assert console_errors(page) == []


def test_an_edge_stopped_mid_play_goes_unnoticed(page: Page, web_cloud: dict[str, Any],
                                                 titles: dict[str, dict[str, Any]]) -> None:
    web = web_cloud["web_url"]
    cdn = web_cloud["cdn"]
    served_by: list[str] = []
    page.on("response", lambda r: served_by.append(r.headers.get("x-reelstack-edge", ""))
            if "/titles/" in r.url and r.url.startswith(web_cloud["cdn_url"]) else None)
    _signed_in(page, web, "Edges")
    _watch(page, web, titles["Ocean of Patterns"]["title_id"])
    edges = [e for e in served_by if e]
    assert edges, "the CDN's responses name their edge"
    busiest = max(set(edges), key=edges.count)
    headers = {"x-reelstack-admin-token": cdn["admin_token"]}
    r = requests.post(f"{cdn['admin_url']}/edges/{busiest}/stop", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    try:
        at_stop = float(page.evaluate("window.__player.currentTime"))
        t0 = time.monotonic()
        _until(page, f"window.__player.currentTime >= {at_stop + 12}", 45)
        elapsed = time.monotonic() - t0
        stalls = page.evaluate("window.__player.stalls")
        events = page.evaluate("window.__player.events")
        fatal = [e for e in events if e["type"] == "hls_error" and e["detail"]["fatal"]]
        assert fatal == [], fatal
        assert stalls["ms"] < 3000, stalls  # the viewer does not notice
        assert elapsed < 12 + 5, elapsed
        assert console_errors(page) == []
    finally:
        requests.post(f"{cdn['admin_url']}/edges/{busiest}/start", headers=headers, timeout=10)
