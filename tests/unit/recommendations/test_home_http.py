"""The recommendations HTTP API behind both edges (moto DynamoDB, S3 and Cognito): ratings, campaigns,
GET /home after a job run, and the fallback when the document store is gone."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from home_world import DRAMA, NOW, catalog_titles, world
from moto import mock_aws

from tests.unit.events import invoke_edge
from tests.unit.identity import use_identity
from tests.unit.tables import create_single_table

PASSWORD = "Corr3ct-Horse"
TABLES = {"HOME_TABLE": "home-test", "RATINGS_TABLE": "ratings-test", "CATALOG_TABLE": "catalog-test",
          "ACCOUNTS_TABLE": "accounts-test"}  # fmt: skip
BUCKET = "models-test"


@functools.cache
def _aws(kind: str, service: str) -> Any:
    return getattr(boto3, kind)(service, region_name="us-east-1")


def _sign_in(cognito: Any, pool_id: str, client_id: str, email: str, groups: list[str]) -> tuple[str, str]:
    user = cognito.admin_create_user(
        UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
    )["User"]  # fmt: skip
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
    for g in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=g)
    tokens = cognito.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD}
    )["AuthenticationResult"]
    return tokens["AccessToken"], next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")


@dataclass
class Api:
    tokens: dict[str, str]
    subs: dict[str, str]
    ddb: Any

    def call(self, method: str, path: str, body: Any = None, *, as_: str = "viewer", edge: str = "http",
             **kw: Any) -> tuple[int, Any]:  # fmt: skip
        from recommendations.handlers.http import lambda_handler

        return invoke_edge(lambda_handler, method, path, body, token=self.tokens[as_], edge=edge, **kw)


def _tables(ddb: Any) -> None:
    create_single_table(ddb, TABLES["CATALOG_TABLE"])
    create_single_table(ddb, TABLES["ACCOUNTS_TABLE"])
    for name, keys in ((TABLES["HOME_TABLE"], ("pk", "sk")), (TABLES["RATINGS_TABLE"], ("profile_id", "title_id"))):
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": keys[0], "KeyType": "HASH"}, {"AttributeName": keys[1], "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            BillingMode="PAY_PER_REQUEST",
        )


def _fill(ddb: Any, subs: dict[str, str]) -> None:
    catalog = ddb.Table(TABLES["CATALOG_TABLE"])
    with catalog.batch_writer() as b:
        for t in catalog_titles().values():
            b.put_item(Item={
                "pk": f"TITLE#{t.title_id}", "sk": "META", "title_id": t.title_id, "title": t.name,
                "status": "READY", "gsi1pk": "STATUS#READY", "gsi1sk": f"{t.created_at}#{t.title_id}",
                "language": t.language, "maturity_rating": t.maturity_rating, "genres": list(t.genres),
                "cast": list(t.cast), "year": t.year, "created_at": t.created_at, "kind": "movie", "version": 1,
            })  # fmt: skip
    accounts = ddb.Table(TABLES["ACCOUNTS_TABLE"])
    for who, profiles in (
        ("viewer", [(DRAMA, "18+", False), ("kid", "7+", True)]),
        ("other", [("p-other", "18+", False)]),
    ):
        pk = f"ACCOUNT#{subs[who]}"
        accounts.put_item(Item={"pk": pk, "sk": "ACCOUNT", "plan": "premium", "subscription_status": "active"})
        for pid, maturity, kids in profiles:
            accounts.put_item(
                Item={
                    "pk": pk,
                    "sk": f"PROFILE#{pid}",
                    "type": "profile",
                    "profile_id": pid,
                    "name": pid,
                    "kids": kids,
                    "maturity_rating": maturity,
                    "language": "en",
                }
            )
    # The drama fan's history as ratings (as the demo seed writes them), everyone else in the lake.
    w = world()
    ratings = ddb.Table(TABLES["RATINGS_TABLE"])
    with ratings.batch_writer() as b:
        for r in w.ratings.for_profile(DRAMA):
            b.put_item(Item={"profile_id": r.profile_id, "title_id": r.title_id, "thumb": r.thumb,
                             "rated_at": int(r.rated_at)})  # fmt: skip
    _aws("client", "s3").put_object(Bucket=BUCKET, Key="lake/world.jsonl", Body=w.blobs.objects["lake/world.jsonl"])


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    from recommendations import wiring
    from reelstack_common import auth, dynamo

    for k, v in {**TABLES, "MODEL_BUCKET": BUCKET, "ADMINS_GROUP": "admins",
                 "POWERTOOLS_SERVICE_NAME": "recommendations"}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PLAYBACK_TABLE", raising=False)
    with mock_aws():
        dynamo.reset()
        wiring.reset()
        ddb = _aws("resource", "dynamodb")
        _tables(ddb)
        _aws("client", "s3").create_bucket(Bucket=BUCKET)
        cognito = _aws("client", "cognito-idp")
        pool_id, client_id = use_identity(cognito, monkeypatch)
        tokens, subs = {}, {}
        for who, groups in (("admin", ["admins"]), ("viewer", []), ("other", [])):
            tokens[who], subs[who] = _sign_in(cognito, pool_id, client_id, f"{who}@example.com", groups)
        _fill(ddb, subs)
        try:
            yield Api(tokens, subs, ddb)
        finally:
            auth.jwks_cache.clear()
            auth.standing_cache.clear()
            wiring.reset()
            dynamo.reset()


def _run_job() -> str:
    from recommendations.logic import training
    from recommendations.wiring import job_dependencies

    deps = job_dependencies()
    out = training.train(deps, NOW)
    for item in out["batches"]:
        training.build_batch(deps, item["model_version"], item["batch"])
    training.publish(deps, out["model_version"])
    return str(out["model_version"])


@pytest.mark.parametrize("edge", ["http", "alb"])
def test_home_after_a_job_run_shows_personal_rows(api: Api, edge: str) -> None:
    version = _run_job()
    status, body = api.call("GET", "/home", edge=edge, query={"profile_id": DRAMA})
    assert status == 200, body
    assert body["source"] == "precomputed" and body["fallback"] is False
    assert body["model_version"] == version
    kinds = [r["kind"] for r in body["rows"]]
    assert "similar_interests" in kinds and "because_you_watched" in kinds
    similar = next(r for r in body["rows"] if r["kind"] == "similar_interests")
    assert similar["title"] == "Others like you also watched"
    assert {"title_id", "title", "genres", "maturity_rating"} <= set(similar["items"][0])
    assert sum(i["title_id"].startswith("d") for i in similar["items"][:8]) >= 6  # the drama cluster


def test_home_falls_back_when_the_document_store_fails(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from recommendations import wiring

    _run_job()
    monkeypatch.setenv("HOME_TABLE", "no-such-table")  # every read of the store fails
    wiring.reset()
    status, body = api.call("GET", "/home", query={"profile_id": DRAMA})
    assert status == 200, body
    assert body["fallback"] is True and body["source"] == "fallback"
    assert body["rows"] and all(r["items"] for r in body["rows"])


def test_home_of_another_accounts_profile_is_404_and_profile_id_is_required(api: Api) -> None:
    assert api.call("GET", "/home", query={"profile_id": "p-other"})[0] == 404
    assert api.call("GET", "/home", query={"profile_id": "nope"})[0] == 404
    status, body = api.call("GET", "/home")
    assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR"


def test_ratings_are_validated_stored_and_removed(api: Api) -> None:
    path = f"/profiles/{DRAMA}/ratings/c05"
    status, body = api.call("PUT", path, {"thumb": "love"})
    assert status == 200 and body["thumb"] == "love"
    item = api.ddb.Table(TABLES["RATINGS_TABLE"]).get_item(Key={"profile_id": DRAMA, "title_id": "c05"})["Item"]
    assert item["thumb"] == "love"
    home = api.ddb.Table(TABLES["HOME_TABLE"]).get_item(Key={"pk": f"HOME#{DRAMA}", "sk": "DOC"})["Item"]
    assert float(home["ratings_at"]) > 0  # the stored page is now stale
    for bad in ({"thumb": "meh"}, {"thumb": "up", "extra": 1}, {}, "not json"):
        status, body = api.call("PUT", path, bad)
        assert status == 400, bad
        assert body["error"]["code"] in ("VALIDATION_ERROR", "BAD_REQUEST")
    assert api.call("PUT", f"/profiles/{DRAMA}/ratings/nope", {"thumb": "up"})[0] == 404
    assert api.call("PUT", "/profiles/p-other/ratings/c05", {"thumb": "up"})[0] == 404
    assert api.call("PUT", "/profiles/kid/ratings/d01", {"thumb": "up"})[0] == 404  # R: not for a kid
    assert api.call("PUT", "/profiles/kid/ratings/a01", {"thumb": "up"})[0] == 200
    assert api.call("DELETE", path)[0] == 204
    assert api.call("DELETE", path)[0] == 204  # idempotent
    assert api.call("DELETE", "/profiles/p-other/ratings/c05")[0] == 404
    assert "Item" not in api.ddb.Table(TABLES["RATINGS_TABLE"]).get_item(Key={"profile_id": DRAMA, "title_id": "c05"})


CAMPAIGN = {
    "name": "Summer picks",
    "title_ids": ["c01", "c03"],
    "starts_at": "2026-06-01T00:00:00Z",
    "ends_at": "2026-09-01T00:00:00Z",
    "languages": ["en"],
    "audiences": ["teens", "adults"],
    "priority": 5,
}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ends_at": "2026-05-01T00:00:00Z"}, "VALIDATION_ERROR"),
        ({"starts_at": "2026-06-01T00:00:00"}, "VALIDATION_ERROR"),  # no time zone
        ({"title_ids": []}, "VALIDATION_ERROR"),
        ({"title_ids": ["c01", "c01"]}, "VALIDATION_ERROR"),
        ({"title_ids": ["c01", "unknown"]}, "UNKNOWN_TITLES"),
        ({"audiences": ["toddlers"]}, "VALIDATION_ERROR"),
        ({"languages": ["English!"]}, "VALIDATION_ERROR"),
        ({"priority": -1}, "VALIDATION_ERROR"),
        ({"colour": "red"}, "VALIDATION_ERROR"),
    ],
)
def test_campaign_bad_input_is_400(api: Api, change: dict[str, Any], code: str) -> None:
    status, body = api.call("POST", "/campaigns", {**CAMPAIGN, **change}, as_="admin")
    assert status == 400, body
    assert body["error"]["code"] == code
    assert api.call("GET", "/campaigns", as_="admin")[1] == {"campaigns": []}  # nothing half-written


def test_campaign_crud_is_for_admins(api: Api) -> None:
    assert api.call("POST", "/campaigns", CAMPAIGN)[0] == 403
    status, created = api.call("POST", "/campaigns", CAMPAIGN, as_="admin", edge="alb")
    assert status == 201, created
    cid = created["campaign_id"]
    assert created["starts_at"] == "2026-06-01T00:00:00+00:00"
    assert api.call("GET", "/campaigns", as_="viewer")[0] == 403
    assert [c["campaign_id"] for c in api.call("GET", "/campaigns", as_="admin")[1]["campaigns"]] == [cid]
    status, replaced = api.call("PUT", f"/campaigns/{cid}", {**CAMPAIGN, "priority": 9}, as_="admin")
    assert status == 200 and replaced["priority"] == 9 and replaced["created_at"] == created["created_at"]
    assert api.call("PUT", "/campaigns/nope", CAMPAIGN, as_="admin")[0] == 404
    assert api.call("DELETE", f"/campaigns/{cid}", as_="admin")[0] == 204
    assert api.call("GET", f"/campaigns/{cid}", as_="admin")[0] == 404
    assert api.call("DELETE", f"/campaigns/{cid}", as_="admin")[0] == 404


def test_a_live_campaign_shows_as_a_marked_sponsored_row(api: Api) -> None:
    _run_job()
    live = {**CAMPAIGN, "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z",
            "title_ids": ["x01", "x02"]}  # fmt: skip
    assert api.call("POST", "/campaigns", live, as_="admin")[0] == 201
    body = api.call("GET", "/home", query={"profile_id": DRAMA})[1]
    sponsored = [r for r in body["rows"] if r["kind"] == "sponsored"]
    assert len(sponsored) == 1 and sponsored[0]["sponsored"] is True
    assert [i["title_id"] for i in sponsored[0]["items"]] == ["x01", "x02"]
    # Targeting: the kid profile (older kids tier) is not in the campaign's audiences.
    kid = api.call("GET", "/home", query={"profile_id": "kid"})[1]
    assert not [r for r in kid["rows"] if r["kind"] == "sponsored"]
    assert json.dumps(kid).count('"R"') == 0
