"""Browser tests: Playwright for Python driving Debian's chromium (headless) against the local cloud
that `make up` runs (the session's one, tests/conftest.py, shared with tests/integration), with
titles published through the real ingest path. Screenshots of every screen go to tests/e2e/artifacts/."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright

from local.seed_content import Catalogue, Clip, publish

CHROMIUM = os.environ.get("REELSTACK_CHROMIUM", "/usr/bin/chromium")
# Screens wait on functions that may start cold on a busy 2-core machine (seconds each).
expect.set_options(timeout=30_000)
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--mute-audio",
         "--autoplay-policy=no-user-gesture-required"]

# What the tests watch: one title long enough to play, reload and switch renditions (854x480 source:
# 480p and 240p renditions), and a short adult title the kids profile must never see.
CONTENT = Catalogue(clips=[
    Clip("Ocean of Patterns", 40, "PG", "testsrc2", 440, genres=("documentary", "nature")),
    Clip("Night Circuit", 4, "R", "testsrc", 330, width=426, height=240, genres=("thriller",)),
])


@pytest.fixture(scope="session")
def web_cloud(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The session's local cloud (tests/conftest.py), shared with tests/integration: the browser
    tests run first on it (file order), and their titles and accounts have names of their own."""
    running = os.environ.get("REELSTACK_E2E_STATE_DIR")  # a cloud already up (while developing the tests)
    if running:
        endpoints = json.loads((Path(running) / "endpoints.json").read_text())
    else:
        endpoints = dict(request.getfixturevalue("endpoints"))
    assert endpoints.get("web_url"), "the local cloud serves no web app"
    endpoints["admin"] = endpoints.get("admin") or _admin(endpoints)
    return endpoints  # type: ignore[no-any-return]


def _admin(endpoints: dict[str, Any]) -> dict[str, str]:
    """The seeded admin, made here when the cloud's own seeding met a cold-start timeout (a loaded
    2-core machine): sign-up, confirm, the admins group -- what the local cloud does."""
    import boto3

    creds = {"email": f"e2e-admin-{time.time_ns()}@example.com", "password": "E2e-Admin-password-1"}
    api = endpoints["api_url"]
    for _ in range(4):
        if requests.post(f"{api}/accounts", json={**creds, "plan": "premium"}, timeout=60).status_code == 202:
            break
    for _ in range(4):
        if requests.post(f"{api}/accounts/confirm", json={"email": creds["email"], "code": "000000"},
                         timeout=60).status_code in (201, 400):
            break
    idp = boto3.client("cognito-idp", endpoint_url=endpoints["aws_endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="local", aws_secret_access_key="local")
    pool = next(iter(endpoints["resources"]["user_pools"].values()))
    idp.admin_add_user_to_group(UserPoolId=pool, Username=creds["email"], GroupName="admins")
    return creds


@pytest.fixture(scope="session")
def titles(web_cloud: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    t0 = time.perf_counter()
    views = publish(web_cloud["api_url"], web_cloud["admin"], CONTENT, tmp_path_factory.mktemp("media"), wait_s=600)
    print(f"\ne2e content published in {time.perf_counter() - t0:.1f} s")
    assert all(v["status"] == "READY" for v in views.values()), views
    _warm(web_cloud, next(iter(views.values()))["title_id"])
    return views


def _warm(endpoints: dict[str, Any], title_id: str) -> None:
    """One call to each function the screens use, one at a time: on a loaded 2-core machine a cold
    start can exceed a function's 10 s timeout when several start at once (the first page's calls)."""
    api = endpoints["api_url"]
    http = requests.Session()
    creds = {"email": f"warm-{time.time_ns()}@example.com", "password": "Warm-password-1"}
    http.post(f"{api}/accounts", json=creds, timeout=60)
    http.post(f"{api}/accounts/confirm", json={"email": creds["email"], "code": "000000"}, timeout=60)
    token = http.post(f"{api}/accounts/login", json=creds, timeout=60).json()["access_token"]
    http.headers["authorization"] = f"Bearer {token}"
    pid = http.post(f"{api}/profiles", json={"name": "Warm"}, timeout=60).json()["profile_id"]
    calls = [("GET", "/home", {"profile_id": pid}, None), ("GET", f"/profiles/{pid}/continue-watching", None, None),
             ("GET", "/search", {"profile_id": pid, "q": "ocean"}, None),
             ("GET", "/search/suggest", {"profile_id": pid, "q": "oce"}, None),
             ("POST", "/playback/sessions", None, {"profile_id": pid, "title_id": title_id})]
    for method, path, params, body in calls:
        for _ in range(3):
            try:
                if http.request(method, api + path, params=params, json=body, timeout=60).status_code < 500:
                    break
            except requests.RequestException:
                pass


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    yield b
    b.close()


class ConsoleWatch:
    """Console errors and uncaught page errors: a screen that logs one fails its test."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text} @ {msg.location.get('url', '')}")


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    p = context.new_page()
    p.set_default_timeout(20_000)
    p.console_watch = ConsoleWatch(p)  # type: ignore[attr-defined]
    yield p
    p.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def console_errors(page: Page) -> list[str]:
    return page.console_watch.errors  # type: ignore[attr-defined,no-any-return]


def sign_up(page: Page, web_url: str, plan: str = "standard") -> str:
    """A new account through the app's screens (sign-up answers 202, then the emailed code)."""
    email = f"viewer-{time.time_ns()}@example.com"
    page.goto(f"{web_url}/#/signup")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "Vi3wer-password-1")
    page.select_option("select[name=plan]", plan)
    page.click("button[type=submit]")
    page.wait_for_selector("input[name=code]", state="visible")
    page.fill("input[name=code]", "123456")
    page.get_by_role("button", name="Confirm and sign in").click()
    page.wait_for_selector("body[data-screen=profiles]")
    return email


def create_profile(page: Page, name: str, kids: bool = False) -> None:
    if not page.locator("input[name=name]").is_visible():
        page.get_by_role("button", name="Add profile").click()
    page.fill("input[name=name]", name)
    if kids:
        page.check("input[name=kids]")
    page.get_by_role("button", name="Create profile").click()
    page.locator("button.profile", has_text=name).click()
    page.wait_for_selector("body[data-screen=home]")


def wait_playing(page: Page, min_time: float = 0.5, timeout_s: float = 45) -> float:
    page.wait_for_function(f"window.__player && window.__player.currentTime >= {min_time}",
                           timeout=timeout_s * 1000)
    return float(page.evaluate("window.__player.currentTime"))


def admin_get(endpoints: dict[str, Any], path: str) -> requests.Response:
    cdn = endpoints["cdn"]
    return requests.get(f"{cdn['admin_url']}{path}", headers={"x-reelstack-admin-token": cdn["admin_token"]},
                        timeout=10)
