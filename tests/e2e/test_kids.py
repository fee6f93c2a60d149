"""A kids profile sees no adult title, in home rows or in search."""

from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import Page, expect

from tests.e2e.conftest import console_errors, create_profile, shot, sign_up


def test_kids_profile_never_sees_an_adult_title(page: Page, web_cloud: dict[str, Any],
                                                titles: dict[str, dict[str, Any]]) -> None:
    web = web_cloud["web_url"]
    adult = titles["Night Circuit"]
    assert adult["maturity_rating"] == "R"
    sign_up(page, web)
    create_profile(page, "Kid", kids=True)
    expect(page.locator(".row .card, .empty").first).to_be_visible(timeout=30_000)
    shot(page, "12-kids-home")
    assert page.locator(f".card[data-title-id='{adult['title_id']}']").count() == 0
    assert page.locator(".card", has_text="Night Circuit").count() == 0
    assert page.locator(".card", has_text="Ocean of Patterns").count() >= 1  # PG: allowed at 7+

    page.get_by_role("link", name="Search").click()
    page.locator("input[name=q]").press_sequentially("night circuit", delay=40)
    expect(page.locator(".results p").first).to_be_visible(timeout=20_000)
    page.wait_for_timeout(1000)  # the last keystroke's answer
    shot(page, "13-kids-search")
    assert page.locator(".results .card", has_text="Night Circuit").count() == 0
    assert page.locator(".suggestion", has_text="Night Circuit").count() == 0
    assert console_errors(page) == []

    # The control: the same search from an adults' profile finds it (so the absence above is the filter).
    api = web_cloud["api_url"]
    token = requests.post(f"{api}/accounts/login", json=web_cloud["admin"], timeout=60).json()["access_token"]
    auth = {"authorization": f"Bearer {token}"}
    profile = requests.post(f"{api}/profiles", json={"name": "Grown-up", "maturity_rating": "18+"}, headers=auth,
                            timeout=60).json()["profile_id"]
    found = requests.get(f"{api}/search", params={"profile_id": profile, "q": "night circuit"}, headers=auth,
                         timeout=60).json()["items"]
    assert adult["title_id"] in [t["title_id"] for t in found]
