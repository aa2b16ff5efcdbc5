"""The jobs context's own errors."""

from __future__ import annotations

import uuid

from domain.shared.errors import Conflict


class LeaseLost(Conflict):
    """An acknowledgement from a worker whose claim on the job is no longer the current one: its
    lease expired and the job was rescued, cancelled, or claimed again (a newer attempt). The write
    is refused, so a late worker never overwrites a newer attempt's outcome."""

    def __init__(self, job_id: uuid.UUID, detail: str) -> None:
        super().__init__("Job", f"{job_id}: {detail}")
        self.job_id = job_id
