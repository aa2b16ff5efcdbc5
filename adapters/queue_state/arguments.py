"""The queue-state stores' argument checks, one for both stores: a store refuses what the other would."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

from domain.jobs.job import NAME_PATTERN
from domain.shared.checks import sequence
from domain.shared.errors import ValidationError
from domain.shared.ids import parse_id

MAX_TTL_SECONDS = 86_400.0


def queue_key(queue_name: Any, *, optional: bool = False) -> str:
    """The queue's name; `""` for every queue (statistics), where `optional`."""
    if queue_name is None and optional:
        return ""
    if not isinstance(queue_name, str) or not NAME_PATTERN.match(queue_name):
        raise ValidationError("queue_name", f"{queue_name!r} is not a queue name")
    return queue_name


def ttl_seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 < value <= MAX_TTL_SECONDS:
        raise ValidationError("ttl", f"must be a number of seconds above 0 and at most {MAX_TTL_SECONDS:.0f}")
    return float(value)


def job_ids(value: Any) -> list[uuid.UUID]:
    ids = [parse_id(item, "job_ids") for item in sequence(value, "job_ids")]
    if len(set(ids)) != len(ids):
        raise ValidationError("job_ids", "a job appears more than once")
    return ids


def counts(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValidationError("counts", f"expected a mapping of statuses to counts, got {type(value).__name__}")
    checked: dict[str, int] = {}
    for name, count in value.items():
        if not isinstance(name, str) or not name or isinstance(count, bool) or not isinstance(count, int) \
                or not 0 <= count < 2**63:
            raise ValidationError("counts", f"{name!r}: {count!r} is not a status and a count")
        checked[name] = count
    return checked

