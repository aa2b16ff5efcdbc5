"""Checks of repository arguments, made before any I/O and identical on every backend: a wrong
value is a `ValidationError` naming the argument, never a driver error that aborts the transaction."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from domain.shared.errors import ValidationError
from domain.shared.ids import parse_id
from domain.shared.time import ensure_utc

S = TypeVar("S", bound=StrEnum)

_HASH = re.compile(r"^[0-9a-f]{64}$")
INT64_MAX = 2**63 - 1


def text_argument(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"expected text, got {type(value).__name__} {value!r}")
    if "\x00" in value:
        raise ValidationError(field, "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(field, "must be valid Unicode (no lone surrogates)") from None
    return value


def optional_text(value: Any, field: str) -> str | None:
    return None if value is None else text_argument(value, field)


def flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, f"expected a boolean, got {type(value).__name__} {value!r}")
    return value


def positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= INT64_MAX:
        raise ValidationError(field, f"must be a positive 64-bit integer, got {value!r}")
    return value


def non_negative_int(value: Any, field: str) -> int:
    # bool is an int to Python and to pydantic's lax mode: refused so that True is never 1 cent.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        raise ValidationError(field, f"must be a non-negative 64-bit integer, got {value!r}")
    return value


def optional_version(value: Any, field: str = "expected_version") -> int | None:
    return None if value is None else positive_int(value, field)


def aware_datetime(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(field, f"expected a datetime, got {type(value).__name__}")
    return ensure_utc(value, field)


def optional_datetime(value: Any, field: str) -> datetime | None:
    return None if value is None else aware_datetime(value, field)


def member(enum: type[S], value: Any, field: str) -> S:
    try:
        return enum(value)
    except (ValueError, TypeError):
        names = ", ".join(item.value for item in enum)
        raise ValidationError(field, f"unknown {field} {value!r}; one of {names}") from None


def hash_argument(value: Any, field: str = "payload_hash") -> str:
    if not _HASH.match(text_argument(value, field)):
        raise ValidationError(field, f"must be 64 lowercase hexadecimal digits (SHA-256), got {value!r}")
    return str(value)


def json_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(field, f"expected a JSON object (dict), got {type(value).__name__}")
    return value


def _sequence(value: Any, field: str) -> Sequence[Any]:
    # A string is a sequence too, and iterating "rev_1" would yield five one-letter ids.
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise ValidationError(field, f"expected a list, got {type(value).__name__}")
    return value


def id_list(value: Any, field: str) -> list[uuid.UUID]:
    return [parse_id(item, field) for item in _sequence(value, field)]


def text_list(value: Any, field: str) -> list[str]:
    return [text_argument(item, field) for item in _sequence(value, field)]
