"""The deploy-time step that creates (or rotates) the CloudFront signing key pair.

    python -m infra.cdn_keys                # create once; later runs check and change nothing
    python -m infra.cdn_keys --rotate       # new key pair (then `cdk deploy`)
    python -m infra.cdn_keys --synth-only   # no AWS: a throwaway public key, for `make synth` only

* The private key (RSA-2048 PEM) goes to Secrets Manager as ``reelstack/cdn-signing-key``
  (SecretString = the PEM; the version carries the staging labels AWSCURRENT and the public key's
  fingerprint ``pk-<24 hex>``). It is never written to disk, the repository or the template.
* The public key goes to ``cdk.context.json`` under ``reelstack:cdnPublicKeyPem``: the CDK CLI reads
  that file on every synth, and the ``Delivery`` construct puts the key in a CloudFront PublicKey +
  KeyGroup and sets ``CDN_SIGNING_KEY_STAGE`` to its fingerprint on every signing function
  (``python app.py`` reads the file too: see ``Delivery``). The file is per deployment (account):
  a public key is safe to commit, but each account has its own.
* ``--synth-only`` writes a public key whose private half is discarded: the template synthesizes,
  but nothing could sign for it; a later run without ``--synth-only`` refuses it and asks for
  ``--rotate``, so it cannot reach a deploy unnoticed.

Rotation is safe to deploy: after ``--rotate`` the secret's current version is the new key, while the
functions still deployed read the version labelled with the OLD key's fingerprint (their
``CDN_SIGNING_KEY_STAGE``), so they keep signing with the key their ``CDN_KEY_PAIR_ID`` names until
``cdk deploy`` replaces PublicKey, environment and key group together. Grants signed with the old key
stop working when the deploy removes it from the key group (they live minutes to hours).

Other code (the local cloud against moto) uses the functions:
    generate_key_pair() -> KeyPair(private_pem: bytes, public_pem: bytes)
    store_private_key(secretsmanager_client, key_pair, secret_name=SIGNING_KEY_SECRET_NAME) -> version id
    key_fingerprint(public_pem) -> "pk-..."
and passes ``{PUBLIC_KEY_CONTEXT: key_pair.public_pem.decode()}`` as synth context.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTEXT_FILE = REPO_ROOT / "cdk.context.json"
PUBLIC_KEY_CONTEXT = "reelstack:cdnPublicKeyPem"
SIGNING_KEY_SECRET_NAME = "reelstack/cdn-signing-key"
KEY_BITS = 2048  # CloudFront key groups accept RSA-2048 public keys


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
    return "pk-" + hashlib.sha256(der).hexdigest()[:24]


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def store_private_key(client: Any, key_pair: KeyPair, secret_name: str = SIGNING_KEY_SECRET_NAME) -> str:
    """Create the secret, or add a new current version to it (rotation). The version is staged
    AWSCURRENT and ``key_fingerprint(public)``. Returns the version id."""
    label = key_fingerprint(key_pair.public_pem)
    secret = key_pair.private_pem.decode("ascii")
    try:
        version = client.put_secret_value(
            SecretId=secret_name, SecretString=secret, VersionStages=["AWSCURRENT", label]
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


def stored_labels(client: Any, secret_name: str = SIGNING_KEY_SECRET_NAME) -> set[str] | None:
    """Every staging label on the secret's versions; None when the secret does not exist."""
    try:
        described = client.describe_secret(SecretId=secret_name)
    except Exception as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return {label for labels in described.get("VersionIdsToStages", {}).values() for label in labels}


def read_public_key(context_file: Path = CONTEXT_FILE) -> str | None:
    try:
        value = json.loads(context_file.read_text(encoding="utf-8")).get(PUBLIC_KEY_CONTEXT)
    except FileNotFoundError:
        return None
    return str(value) if value else None


def write_public_key(public_pem: bytes, context_file: Path = CONTEXT_FILE) -> None:
    """Set the context key, keeping whatever else the file holds (the CLI caches lookups there)."""
    try:
        context = json.loads(context_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        context = {}
    context[PUBLIC_KEY_CONTEXT] = public_pem.decode("ascii")
    context_file.write_text(json.dumps(context, indent=2) + "\n", encoding="utf-8")


def ensure_key(
    client: Any,
    *,
    rotate: bool = False,
    context_file: Path = CONTEXT_FILE,
    secret_name: str = SIGNING_KEY_SECRET_NAME,
) -> tuple[str, str]:
    """The deploy step. Returns (action, fingerprint) with action "unchanged" | "created" | "rotated".
    Refuses (RuntimeError) when the context names a key whose private half is not in the secret:
    deploying that would make every grant fail; ``rotate=True`` replaces both."""
    current = read_public_key(context_file)
    labels = stored_labels(client, secret_name)
    if current and not rotate:
        fingerprint = key_fingerprint(current.encode())
        if labels is not None and fingerprint in labels:
            return "unchanged", fingerprint
        raise RuntimeError(
            f"{context_file.name} holds public key {fingerprint}, but secret {secret_name} has no version "
            f"labelled {fingerprint} (wrong account/region, or the secret was deleted). Run with --rotate to "
            "create a new key pair."
        )
    key_pair = generate_key_pair()
    store_private_key(client, key_pair, secret_name)
    write_public_key(key_pair.public_pem, context_file)
    return ("rotated" if current else "created"), key_fingerprint(key_pair.public_pem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cdn_keys", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rotate", action="store_true", help="replace the key pair (then cdk deploy)")
    parser.add_argument("--context-file", type=Path, default=CONTEXT_FILE)
    parser.add_argument("--secret-name", default=SIGNING_KEY_SECRET_NAME)
    parser.add_argument("--region", default=None, help="AWS region of the stack (default: the SDK's)")
    parser.add_argument(
        "--synth-only", action="store_true", help="no AWS: write a throwaway public key (not deployable)"
    )
    args = parser.parse_args(argv)
    if args.synth_only:
        if read_public_key(args.context_file) and not args.rotate:
            print(f"unchanged: {args.context_file} already holds a public key (--rotate to replace it)")
            return 0
        write_public_key(generate_key_pair().public_pem, args.context_file)
        print(f"synth-only key written to {args.context_file}: run without --synth-only --rotate before a deploy")
        return 0

    import boto3  # noqa: PLC0415 -- only the CLI talks to AWS

    client = boto3.client("secretsmanager", region_name=args.region)
    try:
        action, fingerprint = ensure_key(
            client, rotate=args.rotate, context_file=args.context_file, secret_name=args.secret_name
        )
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{action}: CDN signing key {fingerprint} (secret {args.secret_name}, public key in {args.context_file})")
    if action != "unchanged":
        print("next: cdk deploy (the key group and the signing functions pick the new key up together)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
