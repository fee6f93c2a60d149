"""What survives a restart of the local cloud (`--keep-state`), kept whole or not at all.

Kept: DynamoDB (DynamoDB Local's own files, `-dbPath`), Cognito users (name, sub, password,
status, attributes, groups) and S3 objects (body, content type, user metadata), so an account's
items, its sign-in and a title's media come back together. moto cannot persist, so the Cognito
users and S3 objects are written out at a clean stop and put back, by the template's logical ids,
after provisioning (straight into moto: restoring an upload must not start a transcode again).

Not kept: SQS messages, Step Functions executions, events in flight, tokens (the user pool is
created anew: sign in again), function logs.

A run that did not stop cleanly (killed, crashed) wrote no snapshot: its DynamoDB files would hold
accounts whose Cognito users are gone, so the next start discards the kept state, and says so.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from local.resolve import ACCOUNT, PARTITION, REGION

log = logging.getLogger("reelstack.local")

KEPT = ["DynamoDB tables and items", "Cognito users (passwords, groups)", "S3 objects"]
NOT_KEPT = ["SQS messages", "Step Functions executions", "sign-in tokens (sign in again)"]


class KeptState:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "kept"
        self.dynamodb_dir = self.root / "dynamodb"
        self._snapshot = self.root / "moto.json"
        self._clean = self.root / "CLEAN_STOP"  # written last at a clean stop, removed at start

    def open(self) -> str:
        """Prepare for a run; returns what the start-up banner says about the state."""
        if self.root.exists() and not self._clean.exists():
            shutil.rmtree(self.root)
            note = "the last run did not stop cleanly: its state was discarded (starting empty)"
        elif self._clean.exists():
            note = f"restored from {self.root}"
        else:
            note = f"first run with {self.root}"
        self._clean.unlink(missing_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        return note

    def restore(self, user_pools: dict[str, str], buckets: dict[str, str]) -> dict[str, int]:
        if not self._snapshot.exists():
            return {"users": 0, "objects": 0}
        snap = json.loads(self._snapshot.read_text())
        users = sum(_restore_users(user_pools.get(lid), saved) for lid, saved in snap["user_pools"].items())
        objects = sum(_restore_objects(buckets.get(lid), saved, self.root / "s3" / lid)
                      for lid, saved in snap["buckets"].items())
        return {"users": users, "objects": objects}

    def save(self, user_pools: dict[str, str], buckets: dict[str, str]) -> None:
        """At a clean stop, with moto still in this process."""
        snap = {
            "user_pools": {lid: _dump_users(pool_id) for lid, pool_id in user_pools.items()},
            "buckets": {lid: _dump_objects(name, self.root / "s3" / lid) for lid, name in buckets.items()},
        }
        tmp = self._snapshot.with_suffix(".tmp")
        tmp.write_text(json.dumps(snap))
        tmp.replace(self._snapshot)

    def mark_clean(self) -> None:
        """After DynamoDB Local has closed its files."""
        self._clean.write_text("the last run stopped cleanly\n")


def _cognito() -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    return cognitoidp_backends[ACCOUNT][REGION]


def _s3() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[ACCOUNT][PARTITION]


def _dump_users(pool_id: str) -> list[dict[str, Any]]:
    pool = _cognito().user_pools[pool_id]
    return [
        {"key": key, "username": u.username, "sub": u.id, "password": u.password, "status": u.status,
         "enabled": u.enabled, "attributes": u.attributes, "groups": sorted(g.group_name for g in u.groups)}
        for key, u in pool.users.items()
    ]


def _restore_users(pool_id: str | None, saved: list[dict[str, Any]]) -> int:
    from moto.cognitoidp.models import CognitoIdpUser

    if pool_id is None:
        log.warning("kept state: a user pool is no longer in the template; its %d user(s) are dropped", len(saved))
        return 0
    backend = _cognito()
    pool = backend.user_pools[pool_id]
    for s in saved:
        user = CognitoIdpUser(pool_id, s["username"], s["password"], s["status"], s["attributes"])
        user.id = s["sub"]  # the accounts table is keyed by it
        user.update_attributes([{"Name": "sub", "Value": s["sub"]}])
        user.enabled = s["enabled"]
        pool.users[s["key"]] = user
        for group in s["groups"]:
            if group in pool.groups:
                backend.admin_add_user_to_group(pool_id, group, s["key"])
    return len(saved)


def _dump_objects(bucket: str, into: Path) -> list[dict[str, Any]]:
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    out = []
    for n, key in enumerate(_s3().get_bucket(bucket).keys.values()):
        (into / str(n)).write_bytes(key.value)
        out.append({"key": key.name, "file": str(n), "metadata": dict(key.metadata)})
    return out


def _restore_objects(bucket: str | None, saved: list[dict[str, Any]], folder: Path) -> int:
    if bucket is None:
        log.warning("kept state: a bucket is no longer in the template; its %d object(s) are dropped", len(saved))
        return 0
    s3 = _s3()
    for s in saved:
        body = (folder / s["file"]).read_bytes()
        key = s3.put_object(bucket, s["key"], body, disable_notification=True)  # no new upload events
        key.set_metadata(s["metadata"])
    return len(saved)
