"""The append-only event log: an event is never updated or deleted.

The idempotency key is unique per tenant: ingesting the same key twice returns the first event.
The signature fingerprints the error an event reports, so that events of one failure group into
one incident.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Annotated

from pydantic import AfterValidator, Field, JsonValue

from domain.shared.entity import TenantOwned
from domain.shared.time import UtcDatetime


def _key(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


IdempotencyKey = Annotated[str, Field(max_length=255), AfterValidator(_key)]
EventType = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.:-]+$")]

# Parts of an error message that vary between occurrences of the same failure.
_VOLATILE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|0x[0-9a-f]+|\d+", re.IGNORECASE
)


def error_signature(workflow_id: uuid.UUID, event_type: str, payload: dict[str, JsonValue]) -> str:
    """SHA-256 of the workflow, the event type, the error code and the error message with its
    numbers and ids blanked: 'timeout after 30s (req 123)' and '... 45s (req 9)' are one failure."""
    error = payload.get("error")
    code = message = ""
    if isinstance(error, dict):
        code = str(error.get("code", ""))
        message = str(error.get("message", ""))
    elif error is not None:
        message = str(error)
    code = code or str(payload.get("error_code", ""))
    normalised = _VOLATILE.sub("#", message.strip().lower())
    text = "\x1f".join((str(workflow_id), event_type, code, normalised))
    return hashlib.sha256(text.encode()).hexdigest()


class Event(TenantOwned):
    workflow_id: uuid.UUID
    event_type: EventType
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    idempotency_key: IdempotencyKey
    correlation_id: str | None = Field(default=None, max_length=255)
    occurred_at: UtcDatetime

    @property
    def signature(self) -> str:
        return error_signature(self.workflow_id, self.event_type, self.payload)

    @property
    def is_failure(self) -> bool:
        """Failure events open or join incidents; others are only logged."""
        return "error" in self.payload or "error_code" in self.payload or self.event_type.endswith(
            (".failed", ".error", ".timeout")
        )
