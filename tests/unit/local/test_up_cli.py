"""What `python -m local up` tells a newcomer: every option and REELSTACK_* variable in --help,
and a ready block with the URLs, the admin sign-in and the next command to try."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local.__main__ import build_parser
from local.ready import ready_block

LOCAL = Path(__file__).resolve().parents[3] / "local"


def _up_help(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["up", "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_help_describes_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    up = next(a for a in parser._subparsers._group_actions if a.choices)  # type: ignore[union-attr]
    undocumented = [a.option_strings for a in up.choices["up"]._actions  # type: ignore[index]
                    if a.help is None and a.option_strings != ["-h", "--help"]]
    assert undocumented == []
    assert "--state-dir" in _up_help(capsys)


def test_help_names_every_reelstack_variable_the_local_cloud_reads(capsys: pytest.CaptureFixture[str]) -> None:
    read = {v for f in LOCAL.rglob("*.py") for v in re.findall(r"REELSTACK_[A-Z_]+", f.read_text())}
    assert {"REELSTACK_API_PORT", "REELSTACK_ADMIN_PASSWORD"} <= read
    text = _up_help(capsys)
    environment = text[text.index("environment"):]  # the epilog's list, one line each
    assert sorted(v for v in read if f"\n  {v} " not in environment) == []


ENDPOINTS = {
    "api_url": "http://127.0.0.1:4510",
    "alb_url": "http://127.0.0.1:4511",
    "aws_endpoint_url": "http://127.0.0.1:4566",
    "search_url": "http://127.0.0.1:9200",
    "admin": {"email": "admin@reelstack.local", "password": "Secret-Admin-Pw-1"},
}


def test_ready_block_says_where_things_are_and_what_to_try() -> None:
    text = ready_block(ENDPOINTS, Path(".reelstack/endpoints.json"))
    for url in ("http://127.0.0.1:4510", "http://127.0.0.1:4511", "http://127.0.0.1:4566"):
        assert url in text
    assert "http://127.0.0.1:4510/openapi.json" in text
    assert "admin@reelstack.local" in text
    assert ".reelstack/endpoints.json" in text  # where the password is...
    assert "Secret-Admin-Pw-1" not in text  # ...not the password itself on the terminal
    assert "curl -s http://127.0.0.1:4510/billing/plans" in text
    assert "AWS_ACCESS_KEY_ID" in text  # the aws CLI needs (any) credentials
    assert "Ctrl-C" in text


def test_ready_block_without_an_admin_says_so() -> None:
    text = ready_block({**ENDPOINTS, "admin": None}, Path("/tmp/x/endpoints.json"))
    assert "no admin account" in text and "admin@" not in text


def test_ready_block_says_loudly_whether_state_survives_a_restart() -> None:
    gone = ready_block(ENDPOINTS, Path(".reelstack/endpoints.json"), keep_state=False)
    assert "NOT kept" in gone and "--keep-state" in gone
    kept = ready_block(ENDPOINTS, Path(".reelstack/endpoints.json"), keep_state=True)
    assert "kept across restarts" in kept and "DynamoDB" in kept and "NOT kept" not in kept
