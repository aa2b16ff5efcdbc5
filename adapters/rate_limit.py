"""What every rate-counter adapter (memory, SQL, Redis) checks of its arguments, once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.shared.checks import aware_datetime, text_argument
from domain.shared.errors import ValidationError
from ports.rate_limit import minute_window


def rate_counter_arguments(key: Any, window: Any) -> tuple[str, datetime]:
    """The checked arguments of `RateCounter.hit` and `count`."""
    if not text_argument(key, "key"):
        raise ValidationError("key", "must not be empty")
    start = aware_datetime(window, "window")
    if start != minute_window(start):
        raise ValidationError("window", f"must be the start of a minute, got {start.isoformat()}")
    return key, start
