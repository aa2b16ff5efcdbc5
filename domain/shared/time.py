"""Time values are timezone-aware UTC. The current time comes from the `Clock` port."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

from domain.shared.errors import ValidationError


def ensure_utc(value: datetime, field: str = "timestamp") -> datetime:
    """Reject naive datetimes (their zone is a guess) and normalise aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "must be timezone-aware")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(ensure_utc)]
"""A pydantic field type: aware datetimes normalised to UTC, naive ones rejected."""
