"""Deduplication hashes.

The payload hash is the spec's: SHA-256 of `json.dumps(payload, sort_keys=True)`, so hashes made by
the systems spec 000 describes match ours. Key order never changes it; anything JSON cannot encode,
or that a backend would not store alike (NUL, lone surrogates, NaN, 65-bit integers, nesting deeper
than `MAX_JSON_DEPTH`), is a `ValidationError` naming the payload, raised before `json.dumps` could
recurse into hostile nesting.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from domain.shared.checks import json_value, text_argument
from domain.shared.errors import ValidationError

_HASH = re.compile(r"^[0-9a-f]{64}$")


def payload_hash(payload: Any) -> str:
    json_value(payload, "payload")
    try:
        text = json.dumps(payload, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValidationError("payload", f"must be JSON: {error}") from None
    return hashlib.sha256(text.encode()).hexdigest()


def document_set_hash(document_ids: Iterable[str]) -> str:
    """Order and repeats do not matter: the same set of documents has one hash."""
    ids = sorted({text_argument(item, "document_revision_ids") for item in document_ids})
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def hash_argument(value: Any, field: str = "payload_hash") -> str:
    """A SHA-256 hex digest as these functions make them: 64 lower-case hexadecimal digits."""
    if not _HASH.fullmatch(text_argument(value, field)):
        raise ValidationError(field, "must be 64 lowercase hexadecimal digits (SHA-256)")
    return str(value)
