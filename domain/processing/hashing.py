"""Deduplication hashes.

The payload hash is the spec's: SHA-256 of `json.dumps(payload, sort_keys=True)`, so hashes made by
the systems spec 000 describes match ours. Key order never changes it; anything JSON cannot encode
is a `ValidationError` naming the payload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from domain.shared.errors import ValidationError


def payload_hash(payload: Any) -> str:
    try:
        text = json.dumps(payload, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValidationError("payload", f"must be JSON: {error}") from None
    return hashlib.sha256(text.encode()).hexdigest()


def document_set_hash(document_ids: Iterable[str]) -> str:
    """Order and repeats do not matter: the same set of documents has one hash."""
    ids = sorted(set(document_ids))
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()
