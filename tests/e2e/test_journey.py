"""A viewer's journey in a real browser: sign up, create a profile, home rows, a misspelled search,
play, reload, resume; every screen photographed and free of console errors."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import console_errors, create_profile, shot, sign_up, wait_playing


def test_sign_up_browse_search_play_and_resume(page: Page, web_cloud: dict[str, Any],
                                               titles: dict[str, dict[str, Any]]) -> None:
    web = web_cloud["web_url"]
    page.goto(f"{web}/#/signin")
    shot(page, "01-sign-in")
    sign_up(page, web)
    shot(page, "02-profiles")
    create_profile(page, "Sam")

    # Home: rows of cards (recommended, or fallback rows that look the same), keyboard-navigable.
    cards = page.locator(".row .card")
    expect(cards.first).to_be_visible(timeout=30_000)
    shot(page, "03-home")
    assert page.locator(".row h2").count() >= 1
    first = cards.first
    first.focus()
    if page.locator(".row").first.locator(".card").count() > 1:
        page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.dataset.col") == "1"

    # Search with a misspelling, typed key by key (typeahead on every keystroke).
    page.get_by_role("link", name="Search").click()
    page.locator("input[name=q]").press_sequentially("ocaen", delay=60)
    hit = page.locator(".results .card", has_text="Ocean of Patterns")
    expect(hit).to_be_visible(timeout=20_000)
    shot(page, "04-search")

    # Title page, then play from the keyboard.
    hit.click()
    page.wait_for_selector("body[data-screen=title]")
    expect(page.locator("h1", has_text="Ocean of Patterns")).to_be_visible()
    shot(page, "05-title")
    page.keyboard.press("Enter")  # the Play button has focus
    page.wait_for_selector("body[data-screen=watch]")
    start = wait_playing(page, 0.5)
    page.wait_for_function(f"window.__player.currentTime >= {start + 10}", timeout=40_000)
    shot(page, "06-player")
    before = float(page.evaluate("window.__player.currentTime"))
    levels = page.evaluate("window.__player.levels")
    assert levels and all(lv["height"] <= page.evaluate("window.__player.maxHeight") for lv in levels)
    hb = page.evaluate("window.__player.heartbeats")
    assert hb["acked"] >= 1, hb

    # Reload: the title resumes within 5 s of where it was.
    page.reload()
    page.wait_for_selector("body[data-screen=watch]")
    page.wait_for_function("window.__player && window.__player.sessionId && window.__player.currentTime > 0",
                           timeout=30_000)
    resumed = float(page.evaluate("window.__player.currentTime"))
    assert abs(resumed - before) <= 5.0, (before, resumed)

    # Continue watching lists it; the title page offers resume and play from start.
    page.goto(f"{web}/#/continue")
    expect(page.locator(".card", has_text="Ocean of Patterns")).to_be_visible(timeout=20_000)
    shot(page, "07-continue-watching")
    page.goto(f"{web}/#/title/{titles['Ocean of Patterns']['title_id']}")
    expect(page.locator("button[data-action=resume]")).to_be_visible()
    expect(page.locator("button[data-action=play-start]")).to_be_visible()

    page.goto(f"{web}/#/account")
    expect(page.locator("h2", has_text="Plan")).to_be_visible()
    shot(page, "08-account")
    assert console_errors(page) == []


def test_admin_screens_and_phone_layout(context: BrowserContext, web_cloud: dict[str, Any],
                                        titles: dict[str, dict[str, Any]]) -> None:
    page = context.new_page()
    from tests.e2e.conftest import ConsoleWatch

    watch = ConsoleWatch(page)
    web = web_cloud["web_url"]
    admin = web_cloud["admin"]
    page.goto(f"{web}/#/signin")
    page.fill("input[name=email]", admin["email"])
    page.fill("input[name=password]", admin["password"])
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-screen=profiles]")
    page.goto(f"{web}/#/admin")
    expect(page.locator("h1", has_text="Add a title")).to_be_visible()
    expect(page.locator(".admin-list td", has_text="Ocean of Patterns").first).to_be_visible(timeout=20_000)
    shot(page, "09-admin")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{web}/#/account")
    expect(page.locator("h2", has_text="Plan")).to_be_visible()
    shot(page, "10-account-phone")
    # Nothing wider than the phone's screen (no sideways scrolling of the page).
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    assert watch.errors == []
    page.close()
