"""Page requests and pages: offset with a total, or a keyset cursor."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from domain.shared.errors import ValidationError
from domain.shared.fields import FieldKind
from domain.shared.sorting import Sort

T = TypeVar("T")

MAX_PAGE_SIZE = 1000


def _check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValidationError("limit", f"must be an integer, got {limit!r}")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError("limit", f"must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    return limit


@dataclass(frozen=True, slots=True)
class OffsetPageRequest:
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        _check_limit(self.limit)
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or self.offset < 0:
            raise ValidationError("offset", f"must be a non-negative integer, got {self.offset!r}")


@dataclass(frozen=True, slots=True)
class CursorPageRequest:
    """Keyset pagination: `after` is the `next_cursor` of the previous page, or None to start."""

    limit: int = 50
    after: str | None = None

    def __post_init__(self) -> None:
        _check_limit(self.limit)
        if self.after is not None and not isinstance(self.after, str):
            raise ValidationError("cursor", "must be a string")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True, slots=True)
class CursorPage(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode_value(kind: FieldKind, value: Any) -> Any:
    if kind is FieldKind.DATETIME:
        return value.isoformat()
    if kind is FieldKind.UUID:
        return str(value)
    return value


def _decode_value(kind: FieldKind, raw: Any) -> Any:
    if kind is FieldKind.DATETIME and isinstance(raw, str):
        parsed = datetime.fromisoformat(raw)
        if parsed.tzinfo is None:
            raise ValueError("naive timestamp")
        return parsed
    if kind is FieldKind.UUID and isinstance(raw, str):
        return uuid.UUID(raw)
    if kind is FieldKind.STRING and isinstance(raw, str):
        return raw
    if kind is FieldKind.INTEGER and isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if kind is FieldKind.BOOLEAN and isinstance(raw, bool):
        return raw
    raise ValueError(f"bad {kind} value")


def encode_cursor(sort: Sort, kinds: Sequence[FieldKind], values: Sequence[Any]) -> str:
    """The position after a row: its sort key values, tied to the sort they belong to."""
    payload = {"s": sort.signature(), "v": [_encode_value(k, v) for k, v in zip(kinds, values, strict=True)]}
    text = json.dumps(payload, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort, kinds: Sequence[FieldKind]) -> list[Any]:
    """Values of a cursor made by `encode_cursor` for the same sort; `ValidationError` otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(payload, dict) or payload.get("s") != sort.signature():
            raise ValueError("cursor belongs to another sort")
        raw = payload["v"]
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("wrong number of values")
        return [_decode_value(k, v) for k, v in zip(kinds, raw, strict=True)]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise ValidationError("cursor", f"malformed cursor ({error})") from None
