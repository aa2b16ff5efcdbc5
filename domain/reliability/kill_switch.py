"""An emergency stop: tenant-wide (no workflow) or for one workflow. While active, events of what it
covers are refused."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from domain.shared.entity import TenantOwned
from domain.shared.errors import InvalidTransition
from domain.shared.time import UtcDatetime


class KillSwitch(TenantOwned):
    workflow_id: uuid.UUID | None = None
    """None: the whole tenant."""
    is_active: bool = True
    reason: str = Field(min_length=1, max_length=2000)
    activated_by: str = Field(min_length=1, max_length=255)
    activated_at: UtcDatetime
    released_by: str | None = Field(default=None, max_length=255)
    released_at: UtcDatetime | None = None

    def covers(self, workflow_id: uuid.UUID) -> bool:
        return self.is_active and (self.workflow_id is None or self.workflow_id == workflow_id)

    def release(self, by: str, at: datetime) -> KillSwitch:
        if not self.is_active:
            raise InvalidTransition("kill switch", "released", "released")
        return self.evolve(is_active=False, released_by=by, released_at=at, updated_at=at)
