"""What every metrics backend (memory, SQL, Prometheus) supplies, and what they share.

A backend implements four primitives over series already checked and already confined to a tenant
(`MetricsStore`); the repository (`adapters/rules/metrics.py`) checks the caller's arguments once
and shapes the answers, so the backends cannot disagree on either.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import ClassVar

from domain.metrics.names import BUCKET_LABEL, Labels
from domain.metrics.quantile import histogram_quantile, parse_bound
from domain.metrics.series import Series
from domain.metrics.time_range import TimeRange

StepValue = tuple[int, Labels, float]
"""(point in milliseconds, the series' labels, its value there)."""
Samples = Sequence[tuple[int, float]]


class MetricsStore(ABC):
    """One backend's storage of tenant-labelled series. `tenant` is the tenant's id as text."""

    name: ClassVar[str]

    @abstractmethod
    def write(self, tenant: str, series: Sequence[Series]) -> None:
        """Store every sample, all or nothing; a series already holding a sample at an instant keeps it."""

    @abstractmethod
    def step_values(self, tenant: str, name: str, wanted: Labels, window: TimeRange) -> list[StepValue]:
        """Per series carrying `wanted` and per point t, the value of its last sample in `(t - step, t]`."""

    @abstractmethod
    def latest(self, tenant: str, name: str, wanted: Labels) -> float | None:
        """The highest latest value among the series carrying `wanted`."""

    @abstractmethod
    def quantile(self, tenant: str, histogram: str, wanted: Labels, quantile: float, window: TimeRange) -> float:
        """`histogram_quantile` over the increase of the histogram's buckets in `(start, end]`: NaN
        when there is nothing to interpolate."""


# -- the semantics, over samples in memory (the memory store, and the reference tests use) ---------
def value_at(samples: Samples, at_ms: int) -> float | None:
    """The value of the last sample at or before `at_ms` (samples oldest first)."""
    index = bisect_right(samples, at_ms, key=lambda sample: sample[0])
    return samples[index - 1][1] if index else None


def increase(samples: Samples, window: TimeRange) -> float | None:
    """How much a cumulative count rose in `(start, end]`: its value at the end less its value at the
    start (zero when it had none yet), never below zero; None when it has no value at the end."""
    final = value_at(samples, window.end_ms)
    if final is None:
        return None
    return max(0.0, final - (value_at(samples, window.start_ms) or 0.0))


def quantile_of_increases(quantile: float, increases: Iterable[tuple[str, float]]) -> float:
    """`histogram_quantile` over (bucket `le` label, increase) pairs; buckets of one bound are summed."""
    return histogram_quantile(quantile, ((parse_bound(bound), count) for bound, count in increases))


def bucket_bound(labels: Labels) -> str | None:
    return next((value for name, value in labels if name == BUCKET_LABEL), None)


def finite_or_none(value: float) -> float | None:
    return None if math.isnan(value) else value
