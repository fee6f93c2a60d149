"""infra.cdn_keys: the deploy-time key step, against moto's Secrets Manager."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import cdn_keys

SECRET = cdn_keys.SIGNING_KEY_SECRET_NAME


@pytest.fixture
def sm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager")


def _secret_for(sm: Any, label: str) -> str:
    return str(sm.get_secret_value(SecretId=SECRET, VersionStage=label)["SecretString"])


def test_first_run_creates_secret_and_context(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    context.write_text(json.dumps({"availability-zones:account=1:region=r": ["a"]}))
    action, fingerprint = cdn_keys.ensure_key(sm, context_file=context)
    assert action == "created"
    saved = json.loads(context.read_text())
    assert saved["availability-zones:account=1:region=r"] == ["a"]  # other context kept
    public = saved[cdn_keys.PUBLIC_KEY_CONTEXT]
    assert public.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in context.read_text()
    assert cdn_keys.key_fingerprint(public.encode()) == fingerprint
    private = _secret_for(sm, "AWSCURRENT")
    assert private == _secret_for(sm, fingerprint)
    assert private.startswith("-----BEGIN PRIVATE KEY-----")


def test_second_run_changes_nothing(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    _, first = cdn_keys.ensure_key(sm, context_file=context)
    before = context.read_text()
    assert cdn_keys.ensure_key(sm, context_file=context) == ("unchanged", first)
    assert context.read_text() == before
    assert len(sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"]) == 1


def test_rotate_keeps_the_old_version_reachable_by_its_label(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    _, old = cdn_keys.ensure_key(sm, context_file=context)
    old_private = _secret_for(sm, old)
    action, new = cdn_keys.ensure_key(sm, context_file=context, rotate=True)
    assert action == "rotated" and new != old
    assert _secret_for(sm, "AWSCURRENT") == _secret_for(sm, new) != old_private
    assert cdn_keys.key_fingerprint(cdn_keys.read_public_key(context).encode()) == new  # type: ignore[union-attr]


def test_context_key_without_its_secret_is_refused(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    cdn_keys.write_public_key(cdn_keys.generate_key_pair().public_pem, context)
    with pytest.raises(RuntimeError, match="--rotate"):
        cdn_keys.ensure_key(sm, context_file=context)
    assert cdn_keys.ensure_key(sm, context_file=context, rotate=True)[0] == "rotated"


def test_the_private_key_signs_what_the_public_key_verifies(sm: Any) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "layers" / "shared" / "python"))
    from reelstack_common import cdn_signing

    pair = cdn_keys.generate_key_pair()
    cdn_keys.store_private_key(sm, pair)
    private = _secret_for(sm, cdn_keys.key_fingerprint(pair.public_pem)).encode()
    grant = cdn_signing.sign_grant(resource="https://d/titles/T/*", expires_at=2_000_000_000, key_pair_id="K1",
                                   private_key_pem=private)  # fmt: skip
    reason = cdn_signing.verify(
        url="https://d/titles/T/a.m4s", params=grant.cookies, public_keys={"K1": pair.public_pem}, now=1_900_000_000
    )
    assert reason is None
    assert "PRIVATE" not in repr(pair)


def test_cli_exits_non_zero_on_mismatch(sm: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    context = tmp_path / "ctx.json"
    assert cdn_keys.main(["--context-file", str(context)]) == 0
    assert "created" in capsys.readouterr().out
    sm.delete_secret(SecretId=SECRET, ForceDeleteWithoutRecovery=True)
    assert cdn_keys.main(["--context-file", str(context)]) == 2
    assert "--rotate" in capsys.readouterr().err


def test_synth_only_key_cannot_reach_a_deploy_unnoticed(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    assert cdn_keys.main(["--synth-only", "--context-file", str(context)]) == 0
    assert cdn_keys.read_public_key(context)
    assert "Name" not in json.dumps(sm.list_secrets()["SecretList"])  # no AWS call made a secret
    with pytest.raises(RuntimeError, match="--rotate"):
        cdn_keys.ensure_key(sm, context_file=context)


def test_key_fingerprint_is_stable_and_distinct() -> None:
    one, two = cdn_keys.generate_key_pair(), cdn_keys.generate_key_pair()
    assert cdn_keys.key_fingerprint(one.public_pem) == cdn_keys.key_fingerprint(one.public_pem.replace(b"\n", b"\r\n"))
    assert cdn_keys.key_fingerprint(one.public_pem) != cdn_keys.key_fingerprint(two.public_pem)
    assert len(cdn_keys.key_fingerprint(one.public_pem)) == len("pk-") + 24
