"""Password guessing meets Cognito's lockout (emulated locally by local/cognito_lockout.py).

Cognito: after 5 failed sign-ins a user is locked out for 1 s, doubling with each further failure
up to about 15 minutes; during the lockout every attempt, even with the right password, fails with
NotAuthorizedException "Password attempts exceeded". The login route answers that as 429.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.accounts.conftest import PASSWORD, Cloud


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(cloud: Cloud) -> Iterator[FakeClock]:
    from local import cognito_lockout

    fake = FakeClock()
    uninstall = cognito_lockout.install(clock=fake)
    try:
        yield fake
    finally:
        uninstall()


LOCKED = (429, {"error": {"code": "TOO_MANY_ATTEMPTS", "message": "Too many failed sign-ins; try again later"}})
WRONG = (401, {"error": {"code": "INVALID_CREDENTIALS", "message": "Incorrect email or password"}})


def login(cloud: Cloud, email: str, password: str, edge: str = "http") -> tuple[int, object]:
    return cloud.invoke("POST", "/accounts/login", {"email": email, "password": password}, edge=edge)


def test_five_wrong_passwords_lock_the_user_even_against_the_right_one(
    cloud: Cloud, clock: FakeClock, edge: str
) -> None:
    cloud.sign_up("guess@example.com")
    for _ in range(5):
        assert login(cloud, "guess@example.com", "Wrong-Pass1", edge) == WRONG
    assert login(cloud, "guess@example.com", PASSWORD, edge) == LOCKED
    clock.now += 1.5  # the first lockout lasts 1 s
    assert login(cloud, "guess@example.com", PASSWORD, edge)[0] == 200
    # Success clears the count: five more failures are needed for the next lockout.
    for _ in range(4):
        assert login(cloud, "guess@example.com", "Wrong-Pass1", edge) == WRONG
    assert login(cloud, "guess@example.com", PASSWORD, edge)[0] == 200


def test_the_lockout_doubles_up_to_fifteen_minutes(cloud: Cloud, clock: FakeClock) -> None:
    cloud.sign_up("brute@example.com")
    for _ in range(5):
        login(cloud, "brute@example.com", "Wrong-Pass1")
    waits = []
    for _ in range(12):  # each further wrong guess, made as soon as allowed, doubles the wait
        wait = 0.5
        while login(cloud, "brute@example.com", "Wrong-Pass1") == LOCKED:
            clock.now += wait
            wait *= 1.25
        waits.append(wait)
    assert login(cloud, "brute@example.com", PASSWORD) == LOCKED
    clock.now += 15 * 60
    assert login(cloud, "brute@example.com", PASSWORD)[0] == 200
    assert waits == sorted(waits) and waits[-1] > 60  # it escalated


def test_unknown_emails_lock_the_same_way(cloud: Cloud, clock: FakeClock) -> None:
    # Else the lockout itself would tell which emails have accounts.
    for _ in range(5):
        assert login(cloud, "nobody@example.com", PASSWORD) == WRONG
    assert login(cloud, "nobody@example.com", PASSWORD) == LOCKED
