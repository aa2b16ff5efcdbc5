"""Time values are timezone-aware UTC. The current time comes from the `Clock` port."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

from domain.shared.errors import ValidationError

NAIVE = ("must be timezone-aware: a naive datetime (such as datetime.utcnow()) names no zone, so its "
         "instant is a guess; pass datetime.now(UTC)")


def ensure_utc(value: datetime, field: str = "timestamp") -> datetime:
    """Reject naive datetimes (their zone is a guess) and normalise aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, NAIVE)
    return value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    # A plain ValueError: pydantic then reports the field's own name, not a generic one.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(NAIVE)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_aware)]
"""A pydantic field type: aware datetimes normalised to UTC, naive ones rejected."""
