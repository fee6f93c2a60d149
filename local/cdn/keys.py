"""The local distribution's signing key pair: one per state directory (kept with --keep-state, so
grants handed out before a restart stay valid). Made and stored with the deploy-time step's own
functions (infra/cdn_keys.py): the private key goes to the local Secrets Manager exactly as
`python -m infra.cdn_keys` puts it in AWS."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import boto3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.cdn_keys import KeyPair, generate_key_pair, store_private_key

KEY_FILE = "cdn/signing-key.pem"


def local_key_id(public_pem: bytes) -> str:
    """What `Ref` of the template's CloudFront PublicKey resolves to locally: CloudFront's id shape
    (K + 13 upper-case characters), derived from the key so the same key gets the same id."""
    key = serialization.load_pem_public_key(public_pem)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "K" + hashlib.sha256(der).hexdigest()[:13].upper()


def load_or_create(state_dir: Path, keep: bool) -> KeyPair:
    """The kept key when `keep` and one exists, else a new one (written owner-only, for the next
    kept start)."""
    path = state_dir / KEY_FILE
    if keep and path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA key")
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        return KeyPair(path.read_bytes(), public)
    pair = generate_key_pair()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pair.private_pem)
    return pair


def store_secret(aws_endpoint: str, pair: KeyPair) -> None:
    """The private key in the local Secrets Manager, where CdnSigner.from_environment reads it."""
    sm = boto3.client("secretsmanager", endpoint_url=aws_endpoint, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
    store_private_key(sm, pair)
