"""Identifiers: UUIDs, time-ordered (version 7) so that inserts stay local in B-tree indexes."""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any, NewType

from domain.shared.errors import ValidationError

TenantId = NewType("TenantId", uuid.UUID)

_lock = threading.Lock()
_last_ms = 0
_sequence = 0


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit milliseconds, then a 12-bit counter, then random bits.

    The counter keeps ids from one process strictly increasing within a millisecond, so an
    id sorts after every id this process made before it.
    """
    global _last_ms, _sequence
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _sequence = int.from_bytes(os.urandom(2), "big") & 0x3FF
        else:
            _sequence += 1
            if _sequence > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _sequence = 0
        millis, sequence = _last_ms, _sequence
    random_tail = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= sequence << 64
    value |= 0b10 << 62
    value |= random_tail
    return uuid.UUID(int=value)


def parse_id(value: Any, field: str = "id") -> uuid.UUID:
    """Accept a UUID or its text form, or an aggregate, which stands for its id (spec 000's
    examples pass what `create_execution` returns where an id is expected); anything else is a
    `ValidationError` naming `field`."""
    if isinstance(value, uuid.UUID):
        return value
    identity = getattr(value, "id", None)
    if isinstance(identity, uuid.UUID) and hasattr(type(value), "model_fields"):
        return identity
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValidationError(field, f"expected a UUID, got {type(value).__name__} {value!r}")


def tenant_id(value: Any) -> TenantId:
    """A validated tenant id."""
    return TenantId(parse_id(value, "tenant_id"))
