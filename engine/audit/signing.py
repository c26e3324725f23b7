"""The Ed25519 key that signs tree heads. The private key lives in a file outside the database
(SANCTIONS_AUDIT_KEY_FILE, written by ``sanctions audit keygen``); the public key is published
(``sanctions audit public-key``, GET /audit/public-key, and in every audit pack)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    key_file: Path | None = Field(default=None, alias="SANCTIONS_AUDIT_KEY_FILE")
    # seconds between periodic signed heads (the sweeper thread writes one when the log grew)
    head_interval: float = Field(default=300.0, alias="SANCTIONS_AUDIT_HEAD_INTERVAL")
    # the sweeper thread's sequencer pass (off only to measure its cost: bench/throughput.py)
    sequence: bool = Field(default=True, alias="SANCTIONS_AUDIT_SEQUENCE")


class NoSigningKey(RuntimeError):
    pass


def generate_key(path: Path) -> bytes:
    """Write a new private key (PEM, PKCS#8, mode 0600; refuses to overwrite); return the raw
    32-byte public key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return public_bytes(key)


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()


def load_key(path: Path | None = None) -> Ed25519PrivateKey:
    path = path or AuditSettings().key_file
    if path is None:
        raise NoSigningKey("no signing key: set SANCTIONS_AUDIT_KEY_FILE (sanctions audit keygen)")
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise NoSigningKey(f"{path} is not an Ed25519 private key")
    return key


def public_key(path: Path | None = None) -> bytes:
    return public_bytes(load_key(path))
