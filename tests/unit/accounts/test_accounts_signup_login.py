"""Sign-up, login and /accounts/me through the handler (HTTP API and ALB events)."""

from __future__ import annotations

import jwt
import pytest

from tests.unit.accounts.conftest import CODE, PASSWORD, Cloud


def test_sign_up_creates_cognito_user_and_account(cloud: Cloud, edge: str) -> None:
    status, body = cloud.invoke(
        "POST", "/accounts", {"email": "Ann@Example.com", "password": PASSWORD}, edge=edge
    )
    assert status == 202 and body["status"] == "VERIFICATION_PENDING"
    # Until the emailed code comes back: an unconfirmed Cognito user that cannot log in, no account.
    user = cloud.cognito.admin_get_user(UserPoolId=cloud.pool_id, Username="ann@example.com")
    assert user["UserStatus"] == "UNCONFIRMED"
    assert [i["sk"] for i in cloud.items()] == ["EMAIL"]
    status, _ = cloud.invoke("POST", "/accounts/login", {"email": "ann@example.com", "password": PASSWORD})
    assert status == 401

    status, body = cloud.invoke(
        "POST", "/accounts/confirm", {"email": "ANN@example.com", "code": CODE}, edge=edge
    )
    assert status == 201, body
    user_id = body["user_id"]
    # The user id is Cognito's sub, and the email is stored lower-cased.
    user = cloud.cognito.admin_get_user(UserPoolId=cloud.pool_id, Username="ann@example.com")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["sub"] == user_id
    assert user["UserStatus"] == "CONFIRMED"
    items = {(i["pk"], i["sk"]): i for i in cloud.items()}
    account = items[(f"ACCOUNT#{user_id}", "ACCOUNT")]
    assert account["email"] == "ann@example.com"
    assert account["plan"] == "basic"
    assert account["subscription_status"] == "active"
    reservation = items[("EMAIL#ann@example.com", "EMAIL")]
    assert reservation["status"] == "active" and reservation["user_id"] == user_id
    assert not {"expires_at", "token", "plan"} & set(reservation)
    # No password anywhere in the table.
    assert PASSWORD not in repr(cloud.items())
    # A code cannot be used twice.
    again = cloud.invoke("POST", "/accounts/confirm", {"email": "ann@example.com", "code": CODE})
    assert again == (400, {"error": {"code": "INVALID_CODE", "message": "Invalid or expired verification code"}})


def test_sign_up_with_plan(cloud: Cloud) -> None:
    user_id = cloud.sign_up("plan@example.com", plan="premium")
    item = cloud.table.get_item(Key={"pk": f"ACCOUNT#{user_id}", "sk": "ACCOUNT"})["Item"]
    assert item["plan"] == "premium"


def test_known_email_gets_the_same_answer_and_changes_nothing(cloud: Cloud, edge: str) -> None:
    """Issue 10 item 3: the answer to a sign-up does not say whether the email has an account."""
    cloud.sign_up("dup@example.com")
    before = cloud.items()
    known = cloud.invoke("POST", "/accounts", {"email": "DUP@example.com ", "password": "Another-Pass1"}, edge=edge)
    new = cloud.invoke("POST", "/accounts", {"email": "fresh@example.com", "password": "Another-Pass1"}, edge=edge)
    assert known == new
    assert known[0] == 202
    assert [i for i in cloud.items() if i["pk"] != "EMAIL#fresh@example.com"] == before
    assert sorted(cloud.cognito_usernames()) == ["dup@example.com", "fresh@example.com"]
    # The owner's password is untouched; the stranger cannot confirm anything.
    assert cloud.invoke("POST", "/accounts/login", {"email": "dup@example.com", "password": PASSWORD})[0] == 200
    status, body = cloud.invoke("POST", "/accounts/confirm", {"email": "dup@example.com", "code": CODE})
    assert (status, body["error"]["code"]) == (400, "INVALID_CODE")
    status, body = cloud.invoke("POST", "/accounts/confirm", {"email": "nobody@example.com", "code": CODE})
    assert (status, body["error"]["code"]) == (400, "INVALID_CODE")


def test_sign_up_answers_after_the_same_floor(cloud: Cloud) -> None:
    """Both paths wait out the same floor (a fake clock: no timed assertion); measured in bench/."""
    from accounts.logic import accounts
    from accounts.models.input import CreateAccountRequest
    from accounts.wiring import dependencies

    cloud.sign_up("known@example.com")
    deps = dependencies()
    for email in ("known@example.com", "unknown@example.com"):
        ticks = iter([10.0, 10.25])  # the work took 0.25 s by this clock
        slept: list[float] = []
        accounts.request_sign_up(
            CreateAccountRequest(email=email, password=PASSWORD),
            deps.repo,
            deps.identity,
            min_seconds=0.6,
            clock=ticks.__next__,
            sleep=slept.append,
        )
        assert slept == [pytest.approx(0.35)], email


def test_a_sign_up_whose_code_never_came_can_be_started_again(cloud: Cloud) -> None:
    def sub() -> str:
        user = cloud.cognito.admin_get_user(UserPoolId=cloud.pool_id, Username="late@example.com")
        return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")

    body = {"email": "late@example.com", "password": PASSWORD}
    assert cloud.invoke("POST", "/accounts", body)[0] == 202
    first = sub()
    # At once: the pending sign-up stands (a second code would let a stranger disturb it).
    assert cloud.invoke("POST", "/accounts", {**body, "plan": "premium"})[0] == 202
    assert sub() == first
    # Past the retake time: a new unconfirmed user (a new code) replaces the old one.
    cloud.table.update_item(
        Key={"pk": "EMAIL#late@example.com", "sk": "EMAIL"},
        UpdateExpression="SET retake_after = :past",
        ExpressionAttributeValues={":past": 0},
    )
    assert cloud.invoke("POST", "/accounts", {**body, "plan": "premium"})[0] == 202
    assert sub() != first and cloud.cognito_usernames() == ["late@example.com"]
    status, out = cloud.invoke("POST", "/accounts/confirm", {"email": "late@example.com", "code": CODE})
    assert status == 201 and out["user_id"] == sub()
    item = cloud.table.get_item(Key={"pk": f"ACCOUNT#{sub()}", "sk": "ACCOUNT"})["Item"]
    assert item["plan"] == "premium"


INVALID_SIGN_UPS: list[dict[str, str]] = [
    {"email": "weak@example.com", "password": "short1A"},
    {"email": "weak@example.com", "password": "alllowercase1"},
    {"email": "weak@example.com", "password": "NoDigitsHere"},
    {"email": "not-an-email", "password": PASSWORD},
    {"email": "a@b", "password": PASSWORD},
    {"email": "weak@example.com", "password": PASSWORD, "plan": "platinum"},
]


def test_invalid_sign_up_is_400_and_writes_nothing(cloud: Cloud) -> None:
    for payload in INVALID_SIGN_UPS:
        status, body = cloud.invoke("POST", "/accounts", payload)
        assert status == 400, payload
        assert body["error"]["code"] == "VALIDATION_ERROR", payload
        assert payload["password"] not in body["error"]["message"]
    assert cloud.items() == []
    assert cloud.cognito_usernames() == []


def test_cognito_rejecting_the_password_leaves_no_state(cloud: Cloud) -> None:
    # A pool stricter than our own check (symbols required): Cognito refuses at set-password time.
    cloud.cognito.update_user_pool(
        UserPoolId=cloud.pool_id,
        Policies={"PasswordPolicy": {"MinimumLength": 20, "RequireUppercase": True, "RequireNumbers": True}},
    )
    status, body = cloud.invoke("POST", "/accounts", {"email": "strict@example.com", "password": PASSWORD})
    assert status == 400, body
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert cloud.items() == []
    assert cloud.cognito_usernames() == []


def test_failure_after_cognito_user_is_compensated(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    from accounts.dal.dynamo_repository import DynamoAccountsRepository

    def boom(self: object, *args: object, **kwargs: object) -> None:
        raise RuntimeError("DynamoDB went away")

    monkeypatch.setattr(DynamoAccountsRepository, "create_account", boom)
    status, _ = cloud.invoke("POST", "/accounts", {"email": "half@example.com", "password": PASSWORD})
    assert status == 202
    status, body = cloud.invoke("POST", "/accounts/confirm", {"email": "half@example.com", "code": CODE})
    assert status == 500
    assert body == {"error": {"code": "INTERNAL", "message": "Internal server error"}}
    assert cloud.items() == []  # reservation released
    assert cloud.cognito_usernames() == []  # Cognito user deleted
    monkeypatch.undo()
    from accounts.logic import accounts

    monkeypatch.setattr(accounts, "SIGN_UP_MIN_SECONDS", 0.0)
    # ...so the email is free again.
    monkeypatch.setenv("USER_POOL_ID", cloud.pool_id)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", cloud.client_id)
    monkeypatch.setenv("ACCOUNTS_TABLE", "accounts-test")
    assert cloud.sign_up("half@example.com")


def test_login_returns_cognito_tokens(cloud: Cloud, edge: str) -> None:
    user_id = cloud.sign_up("log@example.com")
    status, body = cloud.invoke(
        "POST", "/accounts/login", {"email": "LOG@example.com", "password": PASSWORD}, edge=edge
    )
    assert status == 200
    assert set(body) == {"access_token", "id_token", "refresh_token", "expires_in"}
    assert body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (
        claims["sub"] == user_id
        and claims["token_use"] == "access"
        and claims["client_id"] == cloud.client_id
    )


def test_wrong_password_and_unknown_email_look_the_same(cloud: Cloud, edge: str) -> None:
    cloud.sign_up("who@example.com")
    wrong = cloud.invoke(
        "POST", "/accounts/login", {"email": "who@example.com", "password": "Wrong-Pass1"}, edge=edge
    )
    unknown = cloud.invoke(
        "POST", "/accounts/login", {"email": "nobody@example.com", "password": PASSWORD}, edge=edge
    )
    malformed = cloud.invoke("POST", "/accounts/login", {"email": "nobody", "password": PASSWORD}, edge=edge)
    expected = (401, {"error": {"code": "INVALID_CREDENTIALS", "message": "Incorrect email or password"}})
    assert wrong == expected
    assert unknown == expected
    assert malformed == expected


def test_me_returns_account_and_profiles(cloud: Cloud, edge: str) -> None:
    user = cloud.user("me@example.com", plan="standard")
    status, created = cloud.invoke(
        "POST", "/profiles", {"name": "Kid", "kids": True}, token=user.access_token, edge=edge
    )
    assert status == 201
    status, body = cloud.invoke("GET", "/accounts/me", token=user.access_token, edge=edge)
    assert status == 200
    assert body == {
        "user_id": user.user_id,
        "email": "me@example.com",
        "plan": "standard",
        "subscription_status": "active",
        "cancel_at_period_end": False,
        "profiles": [created],
    }


def test_me_accepts_id_token_too(cloud: Cloud, edge: str) -> None:
    user = cloud.user("idtok@example.com")
    status, body = cloud.invoke("GET", "/accounts/me", token=user.id_token, edge=edge)
    assert status == 200 and body["user_id"] == user.user_id


def test_me_without_token_is_401(cloud: Cloud, edge: str) -> None:
    status, body = cloud.invoke("GET", "/accounts/me", edge=edge)
    assert status == 401
    assert body["error"]["code"] == "UNAUTHORIZED"


def test_concurrent_sign_ups_for_one_email_create_one_account(cloud: Cloud) -> None:
    import threading

    deps_barrier = threading.Barrier(3)
    outcomes: list[int] = []

    def sign_up() -> None:
        deps_barrier.wait()
        outcomes.append(cloud.invoke("POST", "/accounts", {"email": "race@example.com", "password": PASSWORD})[0])

    threads = [threading.Thread(target=sign_up) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == [202, 202, 202]
    assert cloud.cognito_usernames() == ["race@example.com"]
    status, _ = cloud.invoke("POST", "/accounts/confirm", {"email": "race@example.com", "code": CODE})
    assert status == 201
    assert sorted(i["sk"] for i in cloud.items()) == ["ACCOUNT", "EMAIL"]


def test_sign_up_emits_the_accounts_created_metric(cloud: Cloud, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    cloud.sign_up("metric@example.com")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metric_names = {m["Name"] for line in lines for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert "AccountsCreated" in metric_names


def test_orphaned_cognito_user_of_a_crashed_sign_up_is_replaced(cloud: Cloud) -> None:
    # A sign-up that died between Cognito and DynamoDB (no compensation ran, the reservation expired).
    orphan = cloud.cognito.admin_create_user(
        UserPoolId=cloud.pool_id, Username="orphan@example.com", MessageAction="SUPPRESS"
    )["User"]
    orphan_sub = next(a["Value"] for a in orphan["Attributes"] if a["Name"] == "sub")
    user_id = cloud.sign_up("orphan@example.com")
    assert user_id != orphan_sub
    assert cloud.cognito_usernames() == ["orphan@example.com"]
    status, _ = cloud.invoke("POST", "/accounts/login", {"email": "orphan@example.com", "password": PASSWORD})
    assert status == 200


def test_existing_identity_with_an_account_or_a_group_is_never_replaced(cloud: Cloud) -> None:
    cloud.cognito.admin_create_user(UserPoolId=cloud.pool_id, Username="ops@example.com", MessageAction="SUPPRESS")
    cloud.cognito.admin_add_user_to_group(UserPoolId=cloud.pool_id, Username="ops@example.com", GroupName="admins")
    status, _ = cloud.invoke("POST", "/accounts", {"email": "ops@example.com", "password": PASSWORD})
    assert status == 202
    assert cloud.items() == []  # reservation released
    assert len(cloud.cognito.list_users(UserPoolId=cloud.pool_id)["Users"]) == 1

    # An identity that owns an account survives even if its email reservation item was lost.
    user_id = cloud.sign_up("owner@example.com")
    cloud.table.delete_item(Key={"pk": "EMAIL#owner@example.com", "sk": "EMAIL"})
    status, _ = cloud.invoke("POST", "/accounts", {"email": "owner@example.com", "password": "Other-Pass-1"})
    assert status == 202
    status, _ = cloud.invoke("POST", "/accounts/confirm", {"email": "owner@example.com", "code": CODE})
    assert status == 400
    user = cloud.cognito.admin_get_user(UserPoolId=cloud.pool_id, Username="owner@example.com")
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["sub"] == user_id
