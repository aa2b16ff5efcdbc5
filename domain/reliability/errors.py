"""Errors of the reliability context."""

from __future__ import annotations

import uuid

from domain.shared.errors import PortsideError


class KillSwitchEngaged(PortsideError):  # noqa: N818 - reads as the condition, like NotFound
    """An active kill switch covers the workflow (or the whole tenant): the event is refused."""

    def __init__(self, workflow_id: uuid.UUID, switch_id: uuid.UUID, reason: str) -> None:
        super().__init__(f"workflow {workflow_id} is stopped by kill switch {switch_id}: {reason}")
        self.workflow_id = workflow_id
        self.switch_id = switch_id
        self.reason = reason
