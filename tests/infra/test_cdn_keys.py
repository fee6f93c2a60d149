"""infra.cdn_keys: the deploy-time key step, against moto's Secrets Manager."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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


def test_context_key_without_its_secret_is_refused(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    cdn_keys.write_public_key(cdn_keys.generate_key_pair().public_pem, context)
    with pytest.raises(RuntimeError, match="--rotate"):
        cdn_keys.ensure_key(sm, context_file=context)
    # No private half anywhere: nothing can have signed with it, so --rotate replaces it at once.
    action, fingerprint = cdn_keys.rotate_key(sm, context_file=context)
    keys = cdn_keys.read_keys(context)
    assert action == "replaced" and keys.next is None and keys.legacy == ""
    assert cdn_keys.key_fingerprint(keys.current.encode()) == fingerprint  # type: ignore[union-attr]
    assert _secret_for(sm, "AWSCURRENT") == _secret_for(sm, fingerprint)
    assert cdn_keys.ensure_key(sm, context_file=context) == ("unchanged", fingerprint)


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


# --- rotation with overlap: --rotate (add), --promote (switch), --retire (remove) ----------------------

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def _fp(pem: str | None) -> str:
    assert pem
    return cdn_keys.key_fingerprint(pem.encode())


def _labels_of(sm: Any, label: str) -> list[str]:
    stages = sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    (labels,) = [v for v in stages.values() if label in v]
    return list(labels)


def test_rotation_adds_switches_and_removes_with_every_key_signable_throughout(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    _, old = cdn_keys.ensure_key(sm, context_file=context)
    old_private = _secret_for(sm, old)

    # 1. add: the next key is stored under its own label, AWSCURRENT and the signing key stay put.
    action, new = cdn_keys.rotate_key(sm, context_file=context)
    keys = cdn_keys.read_keys(context)
    assert action == "rotating" and new != old
    assert _fp(keys.current) == old and _fp(keys.next) == new and keys.retiring is None
    assert _secret_for(sm, "AWSCURRENT") == _secret_for(sm, old) == old_private
    assert _secret_for(sm, new).startswith("-----BEGIN PRIVATE KEY-----") and _secret_for(sm, new) != old_private
    assert cdn_keys.ensure_key(sm, context_file=context) == ("unchanged", old)

    # 2. switch: the next key signs (AWSCURRENT moves), the old one retires and stays readable by its
    # label (functions deployed before the phase-2 deploy read it by CDN_SIGNING_KEY_STAGE).
    assert cdn_keys.promote_key(sm, context_file=context, now=T0) == ("promoted", new)
    keys = cdn_keys.read_keys(context)
    assert _fp(keys.current) == new and keys.next is None and _fp(keys.retiring) == old
    assert keys.retiring_since == "2026-11-30T06:00:00+00:00"
    assert _secret_for(sm, "AWSCURRENT") == _secret_for(sm, new)
    assert _secret_for(sm, old) == old_private and "AWSPREVIOUS" in _labels_of(sm, old)
    assert keys.legacy == ""  # created by this step: no key has the pre-rotation logical id

    # 3. remove, once the longest grant can have expired.
    assert cdn_keys.retire_key(context_file=context, now=T0 + timedelta(hours=6)) == ("retired", old)
    keys = cdn_keys.read_keys(context)
    assert _fp(keys.current) == new and keys.next is None and keys.retiring is None and keys.retiring_since is None
    assert keys.legacy == ""
    assert _secret_for(sm, old) == old_private  # retire makes no AWS call
    assert cdn_keys.retire_key(context_file=context, now=T0 + timedelta(hours=7)) == ("unchanged", "")
    assert cdn_keys.ensure_key(sm, context_file=context) == ("unchanged", new)


def test_the_next_rotation_unlabels_keys_that_left_the_context(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    _, first = cdn_keys.ensure_key(sm, context_file=context)
    _, second = cdn_keys.rotate_key(sm, context_file=context)
    cdn_keys.promote_key(sm, context_file=context, now=T0)
    cdn_keys.retire_key(context_file=context, now=T0 + timedelta(hours=6))
    _, third = cdn_keys.rotate_key(sm, context_file=context)
    labels = cdn_keys.stored_labels(sm)
    assert labels is not None and first not in labels and {second, third} <= labels
    assert _secret_for(sm, "AWSCURRENT") == _secret_for(sm, second)


def test_rotate_refuses_while_a_next_key_is_pending(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    cdn_keys.ensure_key(sm, context_file=context)
    _, pending = cdn_keys.rotate_key(sm, context_file=context)
    before, versions = context.read_text(), len(sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"])
    with pytest.raises(RuntimeError, match=f"{pending} is already pending.*--promote"):
        cdn_keys.rotate_key(sm, context_file=context)
    assert context.read_text() == before
    assert len(sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"]) == versions


def test_promote_refuses_without_a_next_key_or_its_private_half(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    cdn_keys.ensure_key(sm, context_file=context)
    with pytest.raises(RuntimeError, match="no next key.*--rotate"):
        cdn_keys.promote_key(sm, context_file=context)
    keys = cdn_keys.read_keys(context)
    stray = cdn_keys.generate_key_pair().public_pem.decode()  # a next key whose private half is nowhere
    cdn_keys.write_keys(cdn_keys.ContextKeys(current=keys.current, next=stray, legacy=keys.legacy), context)
    before = context.read_text()
    with pytest.raises(RuntimeError, match=f"no version labelled {_fp(stray)}"):
        cdn_keys.promote_key(sm, context_file=context)
    assert context.read_text() == before
    with pytest.raises(RuntimeError, match=f"next key {_fp(stray)}"):
        cdn_keys.ensure_key(sm, context_file=context)


def test_promote_refuses_while_a_key_is_retiring_and_promoting_twice_is_refused(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    cdn_keys.ensure_key(sm, context_file=context)
    cdn_keys.rotate_key(sm, context_file=context)
    cdn_keys.promote_key(sm, context_file=context, now=T0)
    after_promote = context.read_text()
    with pytest.raises(RuntimeError, match="no next key"):
        cdn_keys.promote_key(sm, context_file=context)
    # A new rotation may start while the old key retires, but not be promoted before it is retired.
    _, third = cdn_keys.rotate_key(sm, context_file=context)
    with pytest.raises(RuntimeError, match="retire it first.*6 h"):
        cdn_keys.promote_key(sm, context_file=context)
    assert _fp(cdn_keys.read_keys(context).next) == third
    assert (
        json.loads(context.read_text())[cdn_keys.RETIRING_PUBLIC_KEY_CONTEXT]
        == json.loads(after_promote)[cdn_keys.RETIRING_PUBLIC_KEY_CONTEXT]
    )
    cdn_keys.retire_key(context_file=context, now=T0 + timedelta(hours=6))
    assert cdn_keys.promote_key(sm, context_file=context, now=T0 + timedelta(hours=7)) == ("promoted", third)


def test_retire_waits_for_the_longest_grant_unless_forced(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    cdn_keys.ensure_key(sm, context_file=context)
    cdn_keys.rotate_key(sm, context_file=context)
    cdn_keys.promote_key(sm, context_file=context, now=T0)
    before = context.read_text()
    with pytest.raises(RuntimeError, match="no earlier than 2026-11-30T12:00:00.*--force"):
        cdn_keys.retire_key(context_file=context, now=T0 + timedelta(hours=6) - timedelta(seconds=1))
    assert context.read_text() == before
    assert cdn_keys.retire_key(context_file=context, now=T0 + timedelta(minutes=5), force=True)[0] == "retired"


def test_the_grant_lifetime_matches_playbacks_longest_grant() -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "functions" / "playback" / "playback" / "logic" / "settings.py"
    spec = importlib.util.spec_from_file_location("playback_settings_for_cdn_keys", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    assert module.Settings().grant_max_s == cdn_keys.LONGEST_GRANT_S


def test_a_context_written_before_rotation_existed_pins_its_key_to_the_legacy_id(sm: Any, tmp_path: Path) -> None:
    context = tmp_path / "cdk.context.json"
    pair = cdn_keys.generate_key_pair()
    cdn_keys.store_private_key(sm, pair)
    context.write_text(json.dumps({cdn_keys.PUBLIC_KEY_CONTEXT: pair.public_pem.decode()}))  # no marker
    legacy = cdn_keys.key_fingerprint(pair.public_pem)
    assert cdn_keys.read_keys(context).legacy is None and cdn_keys.read_keys(context).legacy_fingerprint() == legacy
    cdn_keys.rotate_key(sm, context_file=context)
    assert cdn_keys.read_keys(context).legacy == legacy  # written before the signing key changes
    cdn_keys.promote_key(sm, context_file=context, now=T0)
    assert cdn_keys.read_keys(context).legacy == legacy  # still the (now retiring) old key
    cdn_keys.retire_key(context_file=context, now=T0 + timedelta(hours=6))
    assert cdn_keys.read_keys(context).legacy == ""  # gone: every key present has its fingerprint's id
    # A fresh key never had the legacy id.
    fresh = tmp_path / "fresh.json"
    cdn_keys.ensure_key(sm, context_file=fresh, secret_name="other")
    assert cdn_keys.read_keys(fresh).legacy == ""


def test_cli_walks_the_three_phases(sm: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    context = tmp_path / "ctx.json"
    args = ["--context-file", str(context)]
    assert cdn_keys.main(args) == 0
    capsys.readouterr()
    assert cdn_keys.main(["--rotate", *args]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rotating: ") and "--promote" in out
    assert cdn_keys.main(["--rotate", *args]) == 2
    assert "already pending" in capsys.readouterr().err
    assert cdn_keys.main(args) == 0
    assert "pending: next key" in capsys.readouterr().out
    assert cdn_keys.main(["--promote", *args]) == 0
    out = capsys.readouterr().out
    assert out.startswith("promoted: ") and "--retire" in out and "6 h" in out
    assert cdn_keys.main(["--retire", *args]) == 2  # just promoted: grants signed with the old key live on
    assert "--force" in capsys.readouterr().err
    assert cdn_keys.main(["--retire", "--force", *args]) == 0
    assert capsys.readouterr().out.startswith("retired: ")
    assert cdn_keys.main(["--retire", *args]) == 0
    assert "no retiring key" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cdn_keys.main(["--rotate", "--promote", *args])
    with pytest.raises(SystemExit):
        cdn_keys.main(["--force", *args])
