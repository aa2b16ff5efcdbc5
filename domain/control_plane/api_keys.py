"""API keys: generated from `secrets`, shown once, stored only as a hash, compared in constant time.

A key is 256 random bits, so a fast hash (SHA-256) is as safe to store as a slow one: slow hashes
exist to stretch guessable passwords, and nothing about a random key is guessable. A fast hash also
lets the key be found by its hash through a unique index, which a salted slow hash would not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from domain.shared.errors import ValidationError

KEY_PREFIX = "psk_"
"""Marks a Portside key, so that secret scanners and people recognise one."""
KEY_BYTES = 32
HASH_LENGTH = 64
"""Hex digits of a SHA-256 digest."""
SHOWN_PREFIX_LENGTH = len(KEY_PREFIX) + 6
"""How much of a key an application keeps in clear to tell its keys apart in listings."""
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: `secret` goes to the caller once and is never stored; `hash` is stored."""

    secret: str
    hash: str
    prefix: str

    def __repr__(self) -> str:
        # Logs and tracebacks show objects' reprs: the secret must not be in one.
        return f"IssuedKey(prefix={self.prefix!r}, hash={self.hash[:12]}...)"


def issue_key() -> IssuedKey:
    secret = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    return IssuedKey(secret, hash_key(secret), secret[:SHOWN_PREFIX_LENGTH])


def hash_key(secret: str) -> str:
    """The stored form of a presented key (hex SHA-256). Anything but a plausible key is refused,
    so that a lookup never hashes megabytes or compares text that no key can be."""
    if not isinstance(secret, str) or not secret.startswith(KEY_PREFIX) or len(secret) > MAX_KEY_LENGTH:
        raise ValidationError("api_key", "not a Portside API key")
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def key_matches(secret: str, stored_hash: str) -> bool:
    """Whether `secret` is the key whose hash is `stored_hash`, in time that does not depend on
    where the two differ."""
    try:
        presented = hash_key(secret)
    except ValidationError:
        return False
    return hmac.compare_digest(presented.encode(), stored_hash.encode())
