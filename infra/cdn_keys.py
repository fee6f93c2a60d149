"""The deploy-time step that creates the CloudFront signing key pair and rotates it with overlap.

    python -m infra.cdn_keys                # create once; later runs check and change nothing
    python -m infra.cdn_keys --rotate       # 1. add a NEXT key (trusted, not signing), then cdk deploy
    python -m infra.cdn_keys --promote      # 2. after that deploy: sign with it, old key RETIRING; cdk deploy
    python -m infra.cdn_keys --retire       # 3. 6 h (the longest grant) after that deploy: drop it; cdk deploy
    python -m infra.cdn_keys --synth-only   # no AWS: a throwaway public key, for `make synth` only

* The private keys (RSA-2048 PEM) go to Secrets Manager as ``reelstack/cdn-signing-key``
  (SecretString = the PEM); each key is one version, labelled with its public key's fingerprint
  ``pk-<24 hex>``, and AWSCURRENT is the signing key's version. They are never written to disk, the
  repository or the template.
* The public keys go to ``cdk.context.json``: ``reelstack:cdnPublicKeyPem`` (the signing key),
  ``reelstack:cdnNextPublicKeyPem`` (phase 1 -> 2) and ``reelstack:cdnRetiringPublicKeyPem``
  (phase 2 -> 3). The CDK CLI reads that file on every synth; the ``Delivery`` construct puts every
  key present in the CloudFront key group (one PublicKey each, its logical id fixed per key) and
  names only the signing key in the signing functions' environment (``CDN_KEY_PAIR_ID``, and
  ``CDN_SIGNING_KEY_STAGE`` = its fingerprint). ``python app.py`` reads the file too: see
  ``Delivery``. The file is per deployment (account): public keys are safe to commit, but each account
  has its own.
* ``--synth-only`` writes a public key whose private half is discarded: the template synthesizes,
  but nothing could sign for it; a later run without ``--synth-only`` refuses it and asks for
  ``--rotate``, so it cannot reach a deploy unnoticed.

Rotation, add -> switch -> remove (each step a deploy; a grant names its key by ``Key-Pair-Id``, the
CloudFront id of the PublicKey, and CloudFront accepts it while that key is in the key group):

1. ``--rotate``: a new key pair; its private half is stored as a new version labelled with its
   fingerprint (AWSCURRENT stays on the signing key), its public half becomes the NEXT key. The
   deploy adds it to the key group; nothing signs with it yet. Refused while a next key is pending.
2. ``--promote``, once that deploy has finished and CloudFront has propagated the key group (the
   edges accept the next key before anything signs with it): AWSCURRENT moves to the next key's
   version, the next key becomes the signing key and the old one RETIRING (still trusted), and the
   promotion time is recorded (``reelstack:cdnRetiringSince``). The deploy switches the functions'
   environment only: the key group's members do not change. Refused without a pending next key,
   when its private half is not in the secret, and while a retiring key remains (retire it first).
3. ``--retire``, once the longest grant lifetime (``LONGEST_GRANT_S``, 6 h: playback's
   ``grant_max_s``) has passed since the phase-2 deploy: the retiring key leaves the context, and
   the deploy removes it from the key group; every grant it signed has expired by then. Refused
   until 6 h after ``--promote`` (a lower bound of the deploy's time) unless ``--force`` (a
   compromised key: its grants die at that deploy). The secret keeps the retired version (still
   labelled; nothing reads it).

A current key whose private half is not in the secret (``--synth-only``, a deleted secret, another
account) is replaced at once by ``--rotate``: no grant can have been signed with it, so there is
nothing to overlap.

The PublicKey logical ids: a key keeps its CloudFront id from phase 1 to phase 3 because its
construct id is derived from its fingerprint. The key that was deployed before rotation with overlap
existed keeps the old construct id ``PublicKey`` (so the first deploy of this code replaces nothing):
context ``reelstack:cdnLegacyKeyFingerprint`` names that key, "" names none, and when it is absent
(a context written before this step existed, the tests', the local cloud's) the signing key is the
one. This step writes it before it changes which key signs, and "" for keys it creates.

Other code (the local cloud against moto) uses the functions:
    generate_key_pair() -> KeyPair(private_pem: bytes, public_pem: bytes)
    store_private_key(secretsmanager_client, key_pair, secret_name=SIGNING_KEY_SECRET_NAME) -> version id
    key_fingerprint(public_pem) -> "pk-..."
and passes ``{PUBLIC_KEY_CONTEXT: key_pair.public_pem.decode()}`` as synth context.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTEXT_FILE = REPO_ROOT / "cdk.context.json"
PUBLIC_KEY_CONTEXT = "reelstack:cdnPublicKeyPem"  # the signing key
NEXT_PUBLIC_KEY_CONTEXT = "reelstack:cdnNextPublicKeyPem"  # trusted, not yet signing (phase 1 -> 2)
RETIRING_PUBLIC_KEY_CONTEXT = "reelstack:cdnRetiringPublicKeyPem"  # trusted, no longer signing (2 -> 3)
RETIRING_SINCE_CONTEXT = "reelstack:cdnRetiringSince"  # when --promote ran (ISO 8601, UTC)
LEGACY_KEY_CONTEXT = "reelstack:cdnLegacyKeyFingerprint"  # the key under the old logical id `PublicKey`
SIGNING_KEY_SECRET_NAME = "reelstack/cdn-signing-key"
KEY_BITS = 2048  # CloudFront key groups accept RSA-2048 public keys
FINGERPRINT_PREFIX = "pk-"
# The longest lifetime of a grant (playback's Settings.grant_max_s; tests/infra/test_cdn_keys.py
# checks they agree): a retiring key stays trusted this long after the last grant it signed.
LONGEST_GRANT_S = 6 * 3600
CURRENT_STAGE = "AWSCURRENT"


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes  # PKCS#8, unencrypted: goes only to Secrets Manager
    public_pem: bytes  # SubjectPublicKeyInfo: goes to the template

    def __repr__(self) -> str:  # never print the private key by accident
        return f"KeyPair(public={key_fingerprint(self.public_pem)})"


def generate_key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return KeyPair(
        private_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        public_pem=key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def key_fingerprint(public_pem: bytes) -> str:
    """``pk-`` + 24 hex of SHA-256 over the key's DER SubjectPublicKeyInfo (PEM whitespace-proof):
    the staging label of the secret version holding the matching private key."""
    key = serialization.load_pem_public_key(public_pem)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return FINGERPRINT_PREFIX + hashlib.sha256(der).hexdigest()[:24]


def _fingerprint(pem: str) -> str:
    return key_fingerprint(pem.encode())


# --- the secret ----------------------------------------------------------------------------------


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def store_private_key(
    client: Any, key_pair: KeyPair, secret_name: str = SIGNING_KEY_SECRET_NAME, *, current: bool = True
) -> str:
    """Create the secret, or add a version to it. The version is staged ``key_fingerprint(public)``,
    and AWSCURRENT too when ``current`` (a next key's version is not current until --promote; the
    first version of a new secret always is). Returns the version id."""
    label = key_fingerprint(key_pair.public_pem)
    secret = key_pair.private_pem.decode("ascii")
    try:
        version = client.put_secret_value(
            SecretId=secret_name, SecretString=secret, VersionStages=[CURRENT_STAGE, label] if current else [label]
        )
        return str(version["VersionId"])
    except Exception as exc:
        if _error_code(exc) != "ResourceNotFoundException":
            raise
    created = client.create_secret(
        Name=secret_name,
        Description="Reelstack CloudFront signing key (private PEM); public half in the CDN key group",
        SecretString=secret,
    )
    client.update_secret_version_stage(SecretId=secret_name, VersionStage=label, MoveToVersionId=created["VersionId"])
    return str(created["VersionId"])


def _versions(client: Any, secret_name: str) -> dict[str, list[str]] | None:
    """Version id -> staging labels (labelled versions only); None when the secret does not exist."""
    try:
        described = client.describe_secret(SecretId=secret_name)
    except Exception as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return {str(v): list(labels) for v, labels in described.get("VersionIdsToStages", {}).items()}


def stored_labels(client: Any, secret_name: str = SIGNING_KEY_SECRET_NAME) -> set[str] | None:
    """Every staging label on the secret's versions; None when the secret does not exist."""
    versions = _versions(client, secret_name)
    return None if versions is None else {label for labels in versions.values() for label in labels}


def _version_with(versions: dict[str, list[str]], label: str) -> str | None:
    return next((v for v, labels in versions.items() if label in labels), None)


def _make_current(client: Any, secret_name: str, label: str) -> None:
    """Move AWSCURRENT to the version staged ``label`` (its other labels stay; Secrets Manager moves
    AWSPREVIOUS to the version it leaves). Nothing to do when it is there already."""
    versions = _versions(client, secret_name) or {}
    target, current = _version_with(versions, label), _version_with(versions, CURRENT_STAGE)
    if target is None:
        raise RuntimeError(f"secret {secret_name} has no version labelled {label}")
    if target == current:
        return
    client.update_secret_version_stage(
        SecretId=secret_name, VersionStage=CURRENT_STAGE, MoveToVersionId=target, RemoveFromVersionId=current
    )


def _unlabel_unused(client: Any, secret_name: str, keep: set[str]) -> list[str]:
    """Take the fingerprint labels of keys no longer in the context (retired in an earlier rotation)
    off their versions: a secret's labels are bounded, and a version left without labels is one
    Secrets Manager may delete. Never AWSCURRENT's version. Returns the labels removed."""
    versions = _versions(client, secret_name) or {}
    removed = []
    for version, labels in versions.items():
        if CURRENT_STAGE in labels:
            continue
        for label in labels:
            if label.startswith(FINGERPRINT_PREFIX) and label not in keep:
                client.update_secret_version_stage(
                    SecretId=secret_name, VersionStage=label, RemoveFromVersionId=version
                )
                removed.append(label)
    return removed


# --- the context file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextKeys:
    """The key entries of ``cdk.context.json`` (public PEMs; None = absent)."""

    current: str | None = None
    next: str | None = None
    retiring: str | None = None
    retiring_since: str | None = None
    # The fingerprint of the key under the logical id `PublicKey`; "" = none; None = absent, which
    # means the current key (see the module docstring).
    legacy: str | None = None

    def present(self) -> dict[str, str]:
        """Role -> PEM of every key present."""
        roles = {"current": self.current, "next": self.next, "retiring": self.retiring}
        return {role: pem for role, pem in roles.items() if pem}

    def legacy_fingerprint(self) -> str:
        if self.legacy is not None:
            return self.legacy
        return _fingerprint(self.current) if self.current else ""


_CONTEXT_FIELDS = {
    "current": PUBLIC_KEY_CONTEXT,
    "next": NEXT_PUBLIC_KEY_CONTEXT,
    "retiring": RETIRING_PUBLIC_KEY_CONTEXT,
    "retiring_since": RETIRING_SINCE_CONTEXT,
    "legacy": LEGACY_KEY_CONTEXT,
}


def _read_context(context_file: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(context_file.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}


def read_keys(context_file: Path = CONTEXT_FILE) -> ContextKeys:
    context = _read_context(context_file)
    values: dict[str, str | None] = {}
    for name, key in _CONTEXT_FIELDS.items():
        value = context.get(key)
        if name == "legacy":
            values[name] = None if value is None else str(value)
        else:
            values[name] = str(value) if value else None
    return ContextKeys(**values)


def write_keys(keys: ContextKeys, context_file: Path = CONTEXT_FILE) -> None:
    """Set (or drop, when None) the key entries, keeping whatever else the file holds (the CLI
    caches lookups there)."""
    context = _read_context(context_file)
    for name, key in _CONTEXT_FIELDS.items():
        value = getattr(keys, name)
        if value is None:
            context.pop(key, None)
        else:
            context[key] = value
    context_file.write_text(json.dumps(context, indent=2) + "\n", encoding="utf-8")


def read_public_key(context_file: Path = CONTEXT_FILE) -> str | None:
    return read_keys(context_file).current


def write_public_key(public_pem: bytes, context_file: Path = CONTEXT_FILE) -> None:
    """Set the signing key only (``--synth-only``)."""
    write_keys(dataclasses.replace(read_keys(context_file), current=public_pem.decode("ascii")), context_file)


def _settle_legacy(before: ContextKeys, after: ContextKeys) -> ContextKeys:
    """``after`` with the legacy marker made explicit from ``before`` (so the key deployed under
    `PublicKey` keeps that logical id when another key becomes current), and "" once no key present
    has it."""
    legacy = before.legacy_fingerprint()
    if legacy not in {_fingerprint(pem) for pem in after.present().values()}:
        legacy = ""
    return dataclasses.replace(after, legacy=legacy)


# --- the steps -----------------------------------------------------------------------------------


def _missing_private_halves(keys: ContextKeys, labels: set[str] | None) -> dict[str, str]:
    """Role -> fingerprint of every context key whose private half the secret lacks."""
    return {
        role: _fingerprint(pem)
        for role, pem in keys.present().items()
        if labels is None or _fingerprint(pem) not in labels
    }


def ensure_key(
    client: Any, *, context_file: Path = CONTEXT_FILE, secret_name: str = SIGNING_KEY_SECRET_NAME
) -> tuple[str, str]:
    """The deploy step. Returns (action, fingerprint of the signing key), action "unchanged" |
    "created". Refuses (RuntimeError) when the context names a key whose private half is not in the
    secret: deploying that would make every grant fail (for the signing key, ``--rotate`` replaces it)."""
    keys = read_keys(context_file)
    if not keys.current:
        key_pair = generate_key_pair()
        store_private_key(client, key_pair, secret_name)
        write_keys(_settle_legacy(keys, dataclasses.replace(keys, current=key_pair.public_pem.decode())), context_file)
        return "created", key_fingerprint(key_pair.public_pem)
    missing = _missing_private_halves(keys, stored_labels(client, secret_name))
    if "current" in missing:
        raise RuntimeError(
            f"{context_file.name} holds public key {missing['current']}, but secret {secret_name} has no version "
            f"labelled {missing['current']} (wrong account/region, or the secret was deleted). Run with --rotate to "
            "create a new key pair."
        )
    if missing:
        role, fingerprint = next(iter(missing.items()))
        raise RuntimeError(
            f"the {role} key {fingerprint} in {context_file.name} has no version labelled {fingerprint} in secret "
            f"{secret_name}: nothing can sign for it (wrong account/region, or the version was deleted)."
        )
    return "unchanged", _fingerprint(keys.current)


def rotate_key(
    client: Any, *, context_file: Path = CONTEXT_FILE, secret_name: str = SIGNING_KEY_SECRET_NAME
) -> tuple[str, str]:
    """Phase 1. Returns (action, fingerprint of the new key): "rotating" (a next key, trusted after
    the next deploy, not signing), or "replaced"/"created" when the signing key has no private half
    in the secret (nothing can have signed with it, so it is replaced at once)."""
    keys = read_keys(context_file)
    if keys.next:
        raise RuntimeError(
            f"a next key {_fingerprint(keys.next)} is already pending: run --promote once its deploy has finished"
        )
    labels = stored_labels(client, secret_name)
    key_pair = generate_key_pair()
    public = key_pair.public_pem.decode("ascii")
    if not keys.current or "current" in _missing_private_halves(keys, labels):
        store_private_key(client, key_pair, secret_name)
        write_keys(_settle_legacy(keys, dataclasses.replace(keys, current=public)), context_file)
        return ("replaced" if keys.current else "created"), key_fingerprint(key_pair.public_pem)
    keep = {_fingerprint(pem) for pem in keys.present().values()}
    _unlabel_unused(client, secret_name, keep)
    store_private_key(client, key_pair, secret_name, current=False)
    write_keys(_settle_legacy(keys, dataclasses.replace(keys, next=public)), context_file)
    return "rotating", key_fingerprint(key_pair.public_pem)


def promote_key(
    client: Any,
    *,
    context_file: Path = CONTEXT_FILE,
    secret_name: str = SIGNING_KEY_SECRET_NAME,
    now: datetime | None = None,
) -> tuple[str, str]:
    """Phase 2: the next key signs, the signing key retires. Returns ("promoted", new signing key)."""
    keys = read_keys(context_file)
    if not keys.next:
        raise RuntimeError("no next key is pending: run --rotate first (then cdk deploy)")
    if keys.retiring:
        raise RuntimeError(
            f"key {_fingerprint(keys.retiring)} is still retiring: retire it first (--retire, once "
            f"{LONGEST_GRANT_S // 3600} h -- the longest grant lifetime -- have passed since the deploy that "
            "followed its promotion, then cdk deploy)"
        )
    fingerprint = _fingerprint(keys.next)
    if "next" in _missing_private_halves(keys, stored_labels(client, secret_name)):
        raise RuntimeError(
            f"secret {secret_name} has no version labelled {fingerprint}: nothing could sign with the next key "
            f"(wrong account/region?). Remove {NEXT_PUBLIC_KEY_CONTEXT} from {context_file.name} and --rotate again."
        )
    _make_current(client, secret_name, fingerprint)
    when = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    promoted = dataclasses.replace(keys, current=keys.next, next=None, retiring=keys.current, retiring_since=when)
    write_keys(_settle_legacy(keys, promoted), context_file)
    return "promoted", fingerprint


def retire_key(
    *, context_file: Path = CONTEXT_FILE, now: datetime | None = None, force: bool = False
) -> tuple[str, str]:
    """Phase 3: the retiring key leaves the context. Returns ("retired", its fingerprint), or
    ("unchanged", "") when no key is retiring. Refuses until LONGEST_GRANT_S after --promote unless
    ``force``. No AWS call: the secret keeps the version (see _unlabel_unused)."""
    keys = read_keys(context_file)
    if not keys.retiring:
        return "unchanged", ""
    fingerprint = _fingerprint(keys.retiring)
    earliest = retire_after(keys)
    if earliest is not None and (now or datetime.now(UTC)) < earliest and not force:
        raise RuntimeError(
            f"key {fingerprint} retires at {keys.retiring_since}: grants it signed until the deploy after that live "
            f"up to {LONGEST_GRANT_S // 3600} h, so retire it no earlier than {earliest.isoformat(timespec='seconds')} "
            "(and that long after the deploy finished). --force retires it now: its grants fail at the next deploy."
        )
    retired = dataclasses.replace(keys, retiring=None, retiring_since=None)
    write_keys(_settle_legacy(keys, retired), context_file)
    return "retired", fingerprint


def retire_after(keys: ContextKeys) -> datetime | None:
    """The earliest moment --retire accepts (promotion + LONGEST_GRANT_S); None when unknown."""
    if not keys.retiring_since:
        return None
    since = datetime.fromisoformat(keys.retiring_since)
    return (since if since.tzinfo else since.replace(tzinfo=UTC)) + timedelta(seconds=LONGEST_GRANT_S)


# --- the command ---------------------------------------------------------------------------------


def _next_step(action: str, keys: ContextKeys) -> str:
    current = _fingerprint(keys.current) if keys.current else "?"
    if action == "created":
        return "next: cdk deploy"
    if action == "replaced":
        return "next: cdk deploy (the replaced key had no private half in the secret: no grant can need it)"
    if action == "rotating":
        return (
            f"next: cdk deploy (adds the next key to the key group; grants are still signed with {current}). Once it "
            "has finished and CloudFront has propagated the key group (a few minutes): python -m infra.cdn_keys "
            "--promote, then cdk deploy"
        )
    if action == "promoted":
        earliest = retire_after(keys)
        when = earliest.isoformat(timespec="seconds") if earliest else "?"
        return (
            f"next: cdk deploy (the signing functions switch to {current}; the retiring key stays in the key group). "
            f"Then, {LONGEST_GRANT_S // 3600} h after that deploy has finished (not before {when}): "
            "python -m infra.cdn_keys --retire, then cdk deploy"
        )
    if action == "retired":
        return "next: cdk deploy (removes the retired key from the key group)"
    if keys.next:
        return f"pending: next key {_fingerprint(keys.next)}: --promote once the deploy that added it has finished"
    if keys.retiring:
        earliest = retire_after(keys)
        return (
            f"pending: retiring key {_fingerprint(keys.retiring)}: --retire {LONGEST_GRANT_S // 3600} h after the "
            f"deploy that followed --promote (not before {earliest.isoformat(timespec='seconds') if earliest else '?'})"
        )
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cdn_keys", description=__doc__.split("\n\n")[0])
    phase = parser.add_mutually_exclusive_group()
    phase.add_argument("--rotate", action="store_true", help="1: add a next key pair (then cdk deploy)")
    phase.add_argument(
        "--promote", action="store_true", help="2: sign with the next key, retire the old (then cdk deploy)"
    )
    phase.add_argument("--retire", action="store_true", help="3: drop the retiring key, 6 h on (then cdk deploy)")
    parser.add_argument("--force", action="store_true", help="with --retire: before the longest grant has expired")
    parser.add_argument("--context-file", type=Path, default=CONTEXT_FILE)
    parser.add_argument("--secret-name", default=SIGNING_KEY_SECRET_NAME)
    parser.add_argument("--region", default=None, help="AWS region of the stack (default: the SDK's)")
    parser.add_argument(
        "--synth-only", action="store_true", help="no AWS: write a throwaway public key (not deployable)"
    )
    args = parser.parse_args(argv)
    if args.force and not args.retire:
        parser.error("--force goes with --retire only")
    if args.synth_only:
        if args.promote or args.retire:
            parser.error("--synth-only goes with --rotate (replace the throwaway key) only")
        if read_public_key(args.context_file) and not args.rotate:
            print(f"unchanged: {args.context_file} already holds a public key (--rotate to replace it)")
            return 0
        write_public_key(generate_key_pair().public_pem, args.context_file)
        print(f"synth-only key written to {args.context_file}: run without --synth-only --rotate before a deploy")
        return 0

    try:
        if args.retire:  # context only: no AWS call
            action, fingerprint = retire_key(context_file=args.context_file, force=args.force)
        else:
            import boto3  # noqa: PLC0415 -- only the CLI talks to AWS

            client = boto3.client("secretsmanager", region_name=args.region)
            where = {"context_file": args.context_file, "secret_name": args.secret_name}
            step = rotate_key if args.rotate else promote_key if args.promote else ensure_key
            action, fingerprint = step(client, **where)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.retire and action == "unchanged":
        print(f"unchanged: no retiring key in {args.context_file}")
    else:
        print(f"{action}: CDN signing key {fingerprint} (secret {args.secret_name}, public key in {args.context_file})")
    hint = _next_step(action, read_keys(args.context_file))
    if hint:
        print(hint)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
