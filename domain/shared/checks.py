"""Checks of values that arrive from outside, written once so that every backend refuses the same input
with the same `ValidationError` naming the same field, before any I/O.

Why each rule exists:
- NUL characters: PostgreSQL refuses them in TEXT and JSONB, SQLite and memory store them; accepting
  them would make one backend fail in the driver (and abort the transaction) where another succeeds.
- Lone surrogates: a Python `str` may hold them, UTF-8 cannot; every driver fails to encode them.
- Integers beyond 64 bits: SQLite's driver raises `OverflowError`, PostgreSQL's BIGINT and BigQuery's
  INT64 refuse them; `INT32_MAX` bounds the columns stored as SQL INTEGER (int4 on PostgreSQL).
- NaN and infinities: JSON has no spelling for them; PostgreSQL's JSONB refuses them.
- Nesting: JSON encoders and decoders recurse; a payload nested thousands deep would end in
  `RecursionError`. `MAX_JSON_DEPTH` is far above any real document and far below every limit.

Repositories call these on their arguments; `screen_fields` is what `Entity` and commands run on
every field before pydantic sees it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from domain.shared.errors import ValidationError
from domain.shared.ids import parse_id
from domain.shared.time import ensure_utc

N = TypeVar("N", bound=Enum)

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
"""The largest value of a SQL INTEGER column (int4 on PostgreSQL): versions, counts, thresholds."""
MAX_VERSION = INT32_MAX
"""Versions are SQL INTEGER columns: every backend stops at the same number."""
MAX_JSON_DEPTH = 64
"""Containers nested deeper than this are refused, in JSON values and in any other field."""

_EARLIEST = datetime.min.replace(tzinfo=UTC)
_CONTAINERS = (dict, list, tuple, set, frozenset)
_INERT = frozenset({bool, datetime, timedelta, uuid.UUID})
"""Exact classes whose values hold no text and no out-of-range number: screened at a glance."""


# -- text -----------------------------------------------------------------------------------------
def clean_text(value: str, field: str) -> str:
    """`value` (already a str) if every backend can store it: no NUL, no lone surrogate."""
    if "\x00" in value:
        raise ValidationError(field, "must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(field, "must be valid Unicode (no lone surrogates)") from None
    return value


def text_argument(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"expected text, got {type(value).__name__} {_shown(value)}")
    return clean_text(value, field)


def optional_text(value: Any, field: str) -> str | None:
    return None if value is None else text_argument(value, field)


# -- scalars --------------------------------------------------------------------------------------
def flag(value: Any, field: str) -> bool:
    """Only a real bool: `"yes"` or `1` would filter differently on each backend."""
    if not isinstance(value, bool):
        raise ValidationError(field, f"expected a boolean, got {type(value).__name__} {_shown(value)}")
    return value


def int64(value: Any, field: str, *, minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> int:
    """An int (bool refused: True is not 1 cent) within [minimum, maximum], 64 bits at most."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"expected an integer, got {type(value).__name__} {_shown(value)}")
    if not max(minimum, INT64_MIN) <= value <= min(maximum, INT64_MAX):
        raise ValidationError(field, f"must be between {minimum} and {maximum}, got {_shown(value)}")
    return int(value)


def positive_int(value: Any, field: str) -> int:
    return int64(value, field, minimum=1)


def non_negative_int(value: Any, field: str) -> int:
    return int64(value, field, minimum=0)


def optional_version(value: Any, field: str = "expected_version") -> int | None:
    """An expected version: None (no check) or an int in [1, MAX_VERSION]; "1", 1.0 and True are
    refused rather than compared, since each backend would compare them differently, and so is a
    version no record can have."""
    return None if value is None else int64(value, field, minimum=1, maximum=MAX_VERSION)


def aware_datetime(value: Any, field: str) -> datetime:
    """A timezone-aware datetime, normalised to UTC; strings are refused, not parsed."""
    if not isinstance(value, datetime):
        raise ValidationError(field, f"expected a datetime, got {type(value).__name__} {_shown(value)}")
    return ensure_utc(value, field)


def optional_datetime(value: Any, field: str) -> datetime | None:
    return None if value is None else aware_datetime(value, field)


def member(enum: type[N], value: Any, field: str) -> N:
    """A member of `enum`, or its value (`"completed"` for `ExecutionStatus.COMPLETED`)."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        clean_text(value, field)
        try:
            return enum(value)
        except ValueError:
            pass
    names = ", ".join(str(item.value) for item in enum)
    raise ValidationError(field, f"unknown value {_shown(value)}; one of {names}")


def hours_before(now: Any, hours: Any, field: str = "hours") -> datetime:
    """The start of a window of `hours` ending at `now`. A window reaching before year 1 starts at
    year 1: every backend stores that instant, and the answer is the same as for any longer window."""
    until = aware_datetime(now, "now")
    span = positive_int(hours, field)
    try:
        return until - timedelta(hours=span)
    except OverflowError:
        return _EARLIEST


# -- sequences --------------------------------------------------------------------------------------
def sequence(value: Any, field: str) -> Sequence[Any]:
    """A list or tuple; a str is refused although it is a sequence (iterating "rev_1" would give five
    one-letter ids), and so is a mapping."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise ValidationError(field, f"expected a list, got {type(value).__name__}")
    return value


def id_list(value: Any, field: str) -> list[uuid.UUID]:
    return [parse_id(item, field) for item in sequence(value, field)]


def text_list(value: Any, field: str) -> list[str]:
    return [text_argument(item, field) for item in sequence(value, field)]


# -- JSON and whole values ----------------------------------------------------------------------------
def screen(value: Any, field: str) -> Any:
    """Refuse what no backend stores alike, anywhere inside `value`: text with NUL or lone surrogates
    (dict keys included), integers beyond 64 bits, NaN and infinities, containers nested deeper than
    `MAX_JSON_DEPTH`. Iterative, so hostile nesting never reaches the recursion limit. Returns `value`."""
    if value is None or value.__class__ in _INERT:
        return value  # nothing inside to refuse: the common fields of every model
    if isinstance(value, str):
        clean_text(value, field)
    elif isinstance(value, _CONTAINERS):
        _screen_nested(value, field)
    else:
        _screen_scalar(value, field)
    return value


def _screen_scalar(value: Any, field: str) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValidationError(field, f"{_shown(value)} does not fit in a signed 64-bit integer")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(field, f"{value} is not a finite number (JSON has no NaN or infinity)")


def _screen_nested(value: Any, field: str) -> None:
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            clean_text(item, field)
            continue
        if not isinstance(item, _CONTAINERS):
            _screen_scalar(item, field)
            continue
        if depth > MAX_JSON_DEPTH:
            raise ValidationError(field, f"nests deeper than {MAX_JSON_DEPTH} levels")
        children: Iterable[Any] = item
        if isinstance(item, dict):
            for key in item:
                if isinstance(key, str):
                    clean_text(key, field)
            children = item.values()
        pending.extend((child, depth + 1) for child in children)


def screen_fields(data: Mapping[Any, Any]) -> None:
    """`screen` every value of a model's input, each error naming its field."""
    for name, value in data.items():
        screen(value, str(name))


def json_value(value: Any, field: str) -> Any:
    """A JSON value every backend stores alike: None, bool, 64-bit int, finite float, clean str, list,
    dict with str keys; checked without recursion."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if item is None or isinstance(item, bool | int | float | str):
            screen(item, field)
        elif isinstance(item, list | dict):
            if depth >= MAX_JSON_DEPTH:
                raise ValidationError(field, f"nests deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        raise ValidationError(field, f"JSON object keys are text, got {type(key).__name__}")
                    clean_text(key, field)
                pending.extend((child, depth + 1) for child in item.values())
            else:
                pending.extend((child, depth + 1) for child in item)
        else:
            raise ValidationError(field, f"{type(item).__name__} is not a JSON value")
    return value


def json_object(value: Any, field: str) -> dict[str, Any]:
    """A dict that is a JSON object by `json_value`'s rules."""
    if not isinstance(value, dict):
        raise ValidationError(field, f"expected a JSON object (dict), got {type(value).__name__}")
    json_value(value, field)
    return value


def _shown(value: Any) -> str:
    """A short repr for messages: a hostile value may be huge."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"  # repr of a huge int may itself fail
    if isinstance(value, (*_CONTAINERS, bytes)):
        return f"of length {len(value)}"  # repr of hostile nesting would recurse
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
