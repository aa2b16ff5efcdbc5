"""The windows metrics are queried over: a time range with a step, and a percentile.

Time is whole milliseconds since the epoch, Prometheus' resolution, in every backend: integer
arithmetic on it is exact in Python, SQL and PromQL alike, so the step windows agree to the instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.shared.checks import aware_datetime
from domain.shared.errors import ValidationError

MIN_STEP = timedelta(seconds=1)
MAX_STEPS = 11_000
"""Prometheus refuses a range query of more points than this; every backend refuses it alike."""


def to_millis(at: datetime) -> int:
    """Milliseconds since the epoch, rounded down (`at` is aware)."""
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return delta // timedelta(milliseconds=1)


def from_millis(millis: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """`[start, end]` evaluated every `step`: the points are start, start + step, ... up to end, and
    each point t stands for the step that ends at it, `(t - step, t]` (a `last_over_time(x[step])`
    in PromQL). Build with `TimeRange.of`, which checks it."""

    start_ms: int
    end_ms: int
    step_ms: int

    @classmethod
    def of(cls, start: Any, end: Any, step: Any = timedelta(minutes=1)) -> TimeRange:
        begin = to_millis(aware_datetime(start, "start"))
        finish = to_millis(aware_datetime(end, "end"))
        if finish <= begin:
            raise ValidationError("range", "is empty: end must come after start")
        if not isinstance(step, timedelta):
            raise ValidationError("step", f"expected a timedelta, got {type(step).__name__}")
        if step < MIN_STEP or step % timedelta(milliseconds=1):
            raise ValidationError("step", f"must be whole milliseconds and at least {MIN_STEP}, got {step}")
        step_ms = step // timedelta(milliseconds=1)
        if (finish - begin) // step_ms + 1 > MAX_STEPS:
            raise ValidationError("step", f"the range would have over {MAX_STEPS} points; take a longer step")
        return cls(begin, finish, step_ms)

    @property
    def start(self) -> datetime:
        return from_millis(self.start_ms)

    @property
    def end(self) -> datetime:
        return from_millis(self.end_ms)

    @property
    def step(self) -> timedelta:
        return timedelta(milliseconds=self.step_ms)

    @property
    def last_point_ms(self) -> int:
        return self.start_ms + (self.end_ms - self.start_ms) // self.step_ms * self.step_ms

    @property
    def earliest_sample_ms(self) -> int:
        """Samples after this instant can count: the first point's step begins here."""
        return self.start_ms - self.step_ms

    def point_of(self, sample_ms: int) -> int | None:
        """The point whose step `(t - step, t]` holds a sample taken at `sample_ms`, or None."""
        if sample_ms <= self.earliest_sample_ms or sample_ms > self.last_point_ms:
            return None
        steps = -((self.start_ms - sample_ms) // self.step_ms)  # ceil((sample - start) / step)
        return self.start_ms + steps * self.step_ms


@dataclass(frozen=True, slots=True)
class Percentile:
    """A percentile strictly between 0 and 100 (p95 is `Percentile(95)`)."""

    value: float

    def __post_init__(self) -> None:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 100:
            raise ValidationError("percentile", f"must be a number strictly between 0 and 100, got {value!r}")

    @classmethod
    def of(cls, value: Any) -> Percentile:
        return value if isinstance(value, Percentile) else cls(value)

    @property
    def quantile(self) -> float:
        return float(self.value) / 100
