"""An incident groups the failure events that share a signature while it is open.

    NEW -> ANALYZING -> ACTIONED -> RESOLVED
     |        |            |
     +--------+------------+-> IGNORED      (and NEW / ANALYZING -> RESOLVED)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from domain.shared.checks import INT32_MAX
from domain.shared.entity import TenantOwned
from domain.shared.lifecycle import TransitionTable
from domain.shared.time import UtcDatetime


class IncidentStatus(StrEnum):
    NEW = "NEW"
    ANALYZING = "ANALYZING"
    ACTIONED = "ACTIONED"
    RESOLVED = "RESOLVED"
    IGNORED = "IGNORED"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


OPEN_STATUSES = frozenset({IncidentStatus.NEW, IncidentStatus.ANALYZING, IncidentStatus.ACTIONED})

INCIDENT_LIFECYCLE = TransitionTable[IncidentStatus]("incident", {
    IncidentStatus.NEW: frozenset({IncidentStatus.ANALYZING, IncidentStatus.RESOLVED, IncidentStatus.IGNORED}),
    IncidentStatus.ANALYZING: frozenset({IncidentStatus.ACTIONED, IncidentStatus.RESOLVED, IncidentStatus.IGNORED}),
    IncidentStatus.ACTIONED: frozenset({IncidentStatus.RESOLVED, IncidentStatus.IGNORED, IncidentStatus.ANALYZING}),
    IncidentStatus.RESOLVED: frozenset(),
    IncidentStatus.IGNORED: frozenset(),
})


class Incident(TenantOwned):
    workflow_id: uuid.UUID
    signature: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=500)
    status: IncidentStatus = IncidentStatus.NEW
    severity: Severity = Severity.MEDIUM
    event_count: int = Field(default=1, ge=1, le=INT32_MAX)
    """A SQL INTEGER column: past `INT32_MAX` every backend refuses the count alike."""
    first_seen_at: UtcDatetime
    last_seen_at: UtcDatetime
    correlation_id: str | None = Field(default=None, max_length=255)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def record_event(self, at: datetime) -> Incident:
        """One more event of this failure (events may arrive out of order)."""
        return self.record_events([at])

    def record_events(self, times: Sequence[datetime]) -> Incident:
        """More events of this failure, at `times`: one new value however many there are."""
        if not times:
            return self
        return self.evolve(
            event_count=self.event_count + len(times),
            first_seen_at=min(self.first_seen_at, *times),
            last_seen_at=max(self.last_seen_at, *times),
            updated_at=max(self.updated_at, *times),
        )

    def move_to(self, status: IncidentStatus, at: datetime) -> Incident:
        INCIDENT_LIFECYCLE.check(self.status, status)
        return self.evolve(status=status, updated_at=at)
