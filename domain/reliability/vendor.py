"""An external service workflows call, guarded by a circuit breaker and a per-minute rate limit.

Vendors are global (shared by every tenant). The breaker:

    CLOSED --N consecutive failures--> OPEN --cool-down elapsed, one trial call admitted--> HALF_OPEN
    HALF_OPEN --success--> CLOSED          HALF_OPEN --failure--> OPEN

While HALF_OPEN, the trial call is in flight and no other call is admitted; a trial whose result
never comes is replaced by a new one after another cool-down.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from domain.reliability.workflow import Name
from domain.shared.checks import INT32_MAX
from domain.shared.entity import Entity
from domain.shared.lifecycle import TransitionTable
from domain.shared.time import UtcDatetime


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


BREAKER = TransitionTable[BreakerState]("circuit breaker", {
    BreakerState.CLOSED: frozenset({BreakerState.OPEN}),
    BreakerState.OPEN: frozenset({BreakerState.HALF_OPEN}),
    BreakerState.HALF_OPEN: frozenset({BreakerState.CLOSED, BreakerState.OPEN}),
})


class Vendor(Entity):
    name: Name
    circuit_breaker_state: BreakerState = BreakerState.CLOSED
    # The counters are SQL INTEGER columns: bounded so that every backend refuses the same values.
    circuit_breaker_failure_count: int = Field(default=0, ge=0, le=INT32_MAX)
    failure_threshold: int = Field(default=5, ge=1, le=INT32_MAX)
    """Consecutive failures that open the breaker."""
    cool_down_seconds: int = Field(default=60, ge=1, le=INT32_MAX)
    """How long the breaker stays open before one trial call is let through."""
    opened_at: UtcDatetime | None = None
    rate_limit_per_minute: int = Field(default=600, ge=1, le=INT32_MAX)

    def cooled_down(self, at: datetime) -> bool:
        return self.opened_at is not None and at >= self.opened_at + timedelta(seconds=self.cool_down_seconds)

    def admit(self, at: datetime) -> tuple[bool, Vendor]:
        """Whether the breaker lets a call through at `at`, and the vendor to store: admitting the
        trial call after the cool-down moves OPEN to HALF_OPEN."""
        state = self.circuit_breaker_state
        if state is BreakerState.CLOSED:
            return True, self
        if state is BreakerState.OPEN and self.cooled_down(at):
            return True, self._move(BreakerState.HALF_OPEN, at)
        if state is BreakerState.HALF_OPEN and at >= self.updated_at + timedelta(seconds=self.cool_down_seconds):
            # The trial caller never reported back: after another cool-down, admit a new trial.
            return True, self.evolve(updated_at=at)
        return False, self

    def _move(self, to: BreakerState, at: datetime, **changes: object) -> Vendor:
        BREAKER.check(self.circuit_breaker_state, to)
        return self.evolve(circuit_breaker_state=to, updated_at=at, **changes)

    def record_success(self, at: datetime) -> Vendor:
        state = self.circuit_breaker_state
        if state is BreakerState.HALF_OPEN:
            return self._move(BreakerState.CLOSED, at, circuit_breaker_failure_count=0, opened_at=None)
        if state is BreakerState.OPEN:
            return self  # a call that was in flight when the breaker opened changes nothing
        return self.evolve(circuit_breaker_failure_count=0, updated_at=at)

    def record_failure(self, at: datetime) -> Vendor:
        state = self.circuit_breaker_state
        failures = self.circuit_breaker_failure_count + 1
        if state is BreakerState.HALF_OPEN:
            return self._move(BreakerState.OPEN, at, circuit_breaker_failure_count=failures, opened_at=at)
        if state is BreakerState.CLOSED and failures >= self.failure_threshold:
            return self._move(BreakerState.OPEN, at, circuit_breaker_failure_count=failures, opened_at=at)
        return self.evolve(circuit_breaker_failure_count=failures, updated_at=at)
