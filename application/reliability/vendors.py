"""Vendor calls: the circuit breaker and the per-minute rate limit."""

from __future__ import annotations

from dataclasses import dataclass

from application.retry import retrying
from domain.reliability.vendor import BreakerState, Vendor
from domain.shared.errors import ConcurrencyConflict
from domain.shared.ids import parse_id
from ports.clock import Clock
from ports.rate_limit import RateCounter, minute_window
from ports.reliability import ReliabilityUnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    reason: str
    """"ok", "trial call" (half-open), "circuit open", "trial in flight" or "rate limit"."""
    state: BreakerState
    calls_this_minute: int


class RecordVendorCall:
    """The result of a call drives the breaker; concurrent results are applied one by one."""

    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, vendor_id: object, succeeded: bool) -> Vendor:
        key = parse_id(vendor_id, "vendor_id")

        def once() -> Vendor:
            at = self._clock.now()
            with self._uow.system() as uow:
                vendor = uow.vendors.get_by_id_or_raise(key)
                changed = vendor.record_success(at) if succeeded else vendor.record_failure(at)
                return vendor if changed is vendor else uow.vendors.update(changed)

        return retrying(once)


class AdmitVendorCall:
    """May a workflow call the vendor now? The breaker decides first (a refused call is not
    counted), then the shared per-minute counter (Redis when configured, else the database)."""

    def __init__(self, uow: ReliabilityUnitOfWorkFactory, clock: Clock, counter: RateCounter) -> None:
        self._uow = uow
        self._clock = clock
        self._counter = counter

    def __call__(self, vendor_id: object) -> Admission:
        key = parse_id(vendor_id, "vendor_id")
        at = self._clock.now()
        window = minute_window(at)
        counter_key = f"vendor:{key}"
        with self._uow.system() as uow:
            vendor = uow.vendors.get_by_id_or_raise(key)
        allowed, admitted = vendor.admit(at)
        if not allowed:
            reason = "trial in flight" if vendor.circuit_breaker_state is BreakerState.HALF_OPEN else "circuit open"
            return Admission(False, reason, vendor.circuit_breaker_state, self._counter.count(counter_key, window))
        calls = self._counter.hit(counter_key, window)
        if calls > vendor.rate_limit_per_minute:
            return Admission(False, "rate limit", vendor.circuit_breaker_state, calls)
        if admitted is vendor:
            return Admission(True, "ok", vendor.circuit_breaker_state, calls)
        try:
            with self._uow.system() as uow:
                uow.vendors.update(admitted)
        except ConcurrencyConflict:
            # Only one caller wins the trial call: a stale version means another took it.
            return Admission(False, "trial in flight", BreakerState.HALF_OPEN, calls)
        return Admission(True, "trial call", admitted.circuit_breaker_state, calls)
