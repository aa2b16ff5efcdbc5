"""Page requests and pages: offset with a total, or a keyset cursor.

A cursor is opaque to callers: base64url of `{"s": <sort signature>, "v": [<sort key values>]}`. A
NULL key value (a nullable sort field) is JSON null. Decoding trusts nothing: the text is bounded
(`MAX_CURSOR_LENGTH`), strictly base64, at most two levels deep (checked before `json.loads`, which
would recurse), made for the same sort, and each value must be of its field's kind, 64 bits at most for
integers, clean text for strings, null only for a nullable field. Anything else is
`ValidationError("cursor")`, never another error, while every cursor `encode_cursor` makes is accepted.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from domain.shared.checks import INT64_MAX, INT64_MIN, clean_text
from domain.shared.errors import ValidationError
from domain.shared.fields import FieldKind
from domain.shared.sorting import Sort

T = TypeVar("T")

MAX_PAGE_SIZE = 1000
MAX_CURSOR_LENGTH = 4096
"""Characters. The longest cursor Portside makes (a few text keys of 255 characters, 4 bytes each in
UTF-8, base64-encoded) stays well below it."""
_MAX_CURSOR_NESTING = 2
"""The payload object and its list of values."""


def _check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValidationError("limit", f"must be an integer, got {type(limit).__name__}")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        shown = limit if abs(limit) < 10**20 else f"an integer of {limit.bit_length()} bits"
        raise ValidationError("limit", f"must be between 1 and {MAX_PAGE_SIZE}, got {shown}")
    return limit


@dataclass(frozen=True, slots=True)
class OffsetPageRequest:
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        _check_limit(self.limit)
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or not 0 <= self.offset <= INT64_MAX:
            raise ValidationError("offset", "must be a non-negative 64-bit integer")


@dataclass(frozen=True, slots=True)
class CursorPageRequest:
    """Keyset pagination: `after` is the `next_cursor` of the previous page, or None to start."""

    limit: int = 50
    after: str | None = None

    def __post_init__(self) -> None:
        _check_limit(self.limit)
        if self.after is not None:
            _check_cursor_text(self.after)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total

    def __iter__(self) -> Iterator[T]:
        """The page's items (a page is never mistaken for every match: `total` says how many)."""
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class CursorPage(Generic[T]):
    items: list[T]
    next_cursor: str | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def _check_cursor_text(cursor: object) -> str:
    if not isinstance(cursor, str):
        raise ValidationError("cursor", f"must be a string, got {type(cursor).__name__}")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise ValidationError("cursor", f"is longer than {MAX_CURSOR_LENGTH} characters")
    return cursor


def _encode_value(kind: FieldKind, value: Any) -> Any:
    if value is None:
        return None
    if kind is FieldKind.DATETIME:
        return value.isoformat()
    if kind is FieldKind.UUID:
        return str(value)
    return value


def _decode_value(kind: FieldKind, raw: Any, nullable: bool) -> Any:
    if raw is None:
        if nullable:
            return None
        raise ValueError("null for a field that is never null")
    if kind is FieldKind.DATETIME and isinstance(raw, str):
        parsed = datetime.fromisoformat(raw)
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValueError("naive timestamp")
        return parsed
    if kind is FieldKind.UUID and isinstance(raw, str):
        return uuid.UUID(raw)
    if kind is FieldKind.STRING and isinstance(raw, str):
        return clean_text(raw, "cursor")
    if kind is FieldKind.INTEGER and isinstance(raw, int) and not isinstance(raw, bool):
        if not INT64_MIN <= raw <= INT64_MAX:
            raise ValueError("integer beyond 64 bits")
        return raw
    if kind is FieldKind.BOOLEAN and isinstance(raw, bool):
        return raw
    raise ValueError(f"bad {kind} value")


def _nesting(text: str) -> int:
    """How deep arrays and objects nest in JSON `text` (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= _MAX_CURSOR_NESTING:
        return text.count("[") + text.count("{")  # the common case: no bracket inside a value
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def encode_cursor(sort: Sort, kinds: Sequence[FieldKind], values: Sequence[Any]) -> str:
    """The position after a row: its sort key values (None for a NULL), tied to the sort they belong to."""
    payload = {"s": sort.signature(), "v": [_encode_value(k, v) for k, v in zip(kinds, values, strict=True)]}
    # ensure_ascii=False: UTF-8 is shorter than \\u escapes, which keeps long text keys under the limit.
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort, kinds: Sequence[FieldKind],
                  nullable: Sequence[bool] | None = None) -> list[Any]:
    """Values of a cursor made by `encode_cursor` for the same sort; `ValidationError("cursor")`
    otherwise. `nullable[i]`: whether the i-th sort field may be NULL (default: none may)."""
    text_form = _check_cursor_text(cursor)
    may_be_null = list(nullable) if nullable is not None else [False] * len(kinds)
    try:
        padded = text_form + "=" * (-len(text_form) % 4)
        text = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
        if _nesting(text) > _MAX_CURSOR_NESTING:
            raise ValueError("nested too deep")
        payload = json.loads(text)
        if not isinstance(payload, dict) or payload.get("s") != sort.signature():
            raise ValueError("cursor belongs to another sort")
        raw = payload["v"]
        if not isinstance(raw, list) or len(raw) != len(kinds) or len(may_be_null) != len(kinds):
            raise ValueError("wrong number of values")
        return [_decode_value(k, v, n) for k, v, n in zip(kinds, raw, may_be_null, strict=True)]
    except ValidationError:
        raise ValidationError("cursor", "malformed cursor (text a backend cannot store)") from None
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError) as error:
        raise ValidationError("cursor", f"malformed cursor ({_first(error)})") from None


def _first(error: BaseException) -> str:
    text = str(error)
    return text if len(text) <= 120 else text[:117] + "..."
