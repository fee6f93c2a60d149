"""A sign-in outlives its access token (15 minutes in AWS; a film is longer): the app renews it with
the refresh token and carries on; a session that cannot be renewed goes back to sign-in."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import console_errors, create_profile, sign_up

AUTH_KEY = "reelstack.auth"


def test_an_expired_access_token_is_renewed_and_a_dead_session_signs_out(page: Page,
                                                                         web_cloud: dict[str, Any]) -> None:
    web = web_cloud["web_url"]
    sign_up(page, web)
    create_profile(page, "Rey")
    stored = page.evaluate(f"JSON.parse(localStorage.getItem('{AUTH_KEY}'))")
    assert stored["refresh_token"], stored

    # The access token has expired (and is refused): the home page still loads, after one renewal.
    page.wait_for_load_state("networkidle")  # the profile's first home page has answered
    refreshes: list[int] = []
    dead: list[str] = []  # API requests that carried a dead access token
    page.on("response", lambda r: refreshes.append(r.status) if r.url.endswith("/accounts/refresh") else None)
    page.on("request", lambda r: dead.append(r.url) if (r.headers.get("authorization") or "").startswith(
        "Bearer expired.") else None)
    page.evaluate(
        f"""() => {{ const a = JSON.parse(localStorage.getItem('{AUTH_KEY}'));
            a.access_token = 'expired.' + a.access_token.split('.')[1] + '.x'; a.expires_at = Date.now() - 1000;
            localStorage.setItem('{AUTH_KEY}', JSON.stringify(a)); }}"""
    )
    with page.expect_response(lambda r: "/home?" in r.url, timeout=30_000) as home:
        page.reload()
    assert home.value.status == 200
    expect(page.get_by_role("heading", name="Home")).to_be_visible()
    # Renewed ahead of the request (the stored expiry had passed), so no request carried the dead token.
    assert refreshes == [200] and dead == [], (refreshes, dead)
    renewed = page.evaluate(f"JSON.parse(localStorage.getItem('{AUTH_KEY}'))")
    assert renewed["access_token"] != stored["access_token"] and renewed["refresh_token"] == stored["refresh_token"]
    assert renewed["expires_at"] > stored["expires_at"] - 60_000

    # A refresh token the pool does not know (revoked, expired): back to sign-in, no error shown.
    page.evaluate(
        f"""() => {{ const a = JSON.parse(localStorage.getItem('{AUTH_KEY}'));
            a.access_token = 'expired.x.x'; a.expires_at = Date.now() - 1000; a.refresh_token = 'revoked';
            localStorage.setItem('{AUTH_KEY}', JSON.stringify(a)); }}"""
    )
    page.reload()
    page.wait_for_selector("body[data-screen=signin]", timeout=20_000)
    # One refused renewal (or one per request already in flight), and the dead token was never sent.
    assert refreshes[:2] == [200, 401] and set(refreshes[1:]) == {401} and dead == [], (refreshes, dead)
    assert page.evaluate(f"localStorage.getItem('{AUTH_KEY}')") is None
    assert not [e for e in console_errors(page) if "401" not in e], console_errors(page)
