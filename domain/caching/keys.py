"""Cache keys, time-to-live values and the per-tenant namespace, checked before any tier is
touched, so that every tier refuses the same input with the same `ValidationError`."""

from __future__ import annotations

import math
import uuid
from typing import Any

from domain.shared.checks import clean_text
from domain.shared.errors import ValidationError

MAX_KEY_LENGTH = 400
"""Characters of a key as the caller writes it; with the namespace it stays within the SQL tier's
500-character `cache_key` column (spec 002)."""
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600
"""Ten years: far beyond any cache entry's sensible life, and within the SQL tier's INTEGER column."""
MIN_TTL_SECONDS = 0.001
"""Redis keeps expiries in milliseconds; a shorter TTL could not be stored alike everywhere."""


def cache_key(value: Any, field: str = "key") -> str:
    if type(value) is not str:
        raise ValidationError(field, f"expected a text key, got {type(value).__name__}")
    if not value:
        raise ValidationError(field, "must not be empty")
    if len(value) > MAX_KEY_LENGTH:
        raise ValidationError(field, f"must be at most {MAX_KEY_LENGTH} characters, got {len(value)}")
    return clean_text(value, field)


def cache_pattern(value: Any, field: str = "pattern") -> str:
    """A Redis glob (`domain/caching/glob.py`), relative to the namespace like keys are."""
    return cache_key(value, field)


def ttl_seconds(value: Any, field: str = "ttl") -> float:
    """A positive, finite number of seconds (an int or a float; a bool is refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, f"expected seconds as a number, got {type(value).__name__}")
    seconds = float(value)
    if not math.isfinite(seconds):
        raise ValidationError(field, "must be a finite number of seconds")
    if seconds <= 0:
        raise ValidationError(field, f"must be a positive number of seconds, got {value!r}")
    if seconds < MIN_TTL_SECONDS:
        raise ValidationError(field, f"must be at least {MIN_TTL_SECONDS} s, got {value!r}")
    if seconds > MAX_TTL_SECONDS:
        raise ValidationError(field, f"must be at most {MAX_TTL_SECONDS} s, got {value!r}")
    return seconds


def tenant_namespace(root: str, tenant_id: uuid.UUID | None) -> str:
    """The prefix of one tenant's keys (`portside:cache:t:<uuid>:`) or of global ones
    (`portside:cache:g:`). The root and a UUID contain no glob character, so a caller's pattern
    appended to the prefix can never reach another tenant's keys."""
    return f"{root}:g:" if tenant_id is None else f"{root}:t:{tenant_id}:"
