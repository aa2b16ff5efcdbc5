"""Metrics in memory: one process, for tests and the embedded demo; the semantics in plain Python."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Sequence
from typing import ClassVar

from adapters.metrics import MetricsStore, StepValue, bucket_bound, increase, quantile_of_increases
from domain.metrics.names import Labels, matches
from domain.metrics.series import Series
from domain.metrics.time_range import TimeRange


class MemoryMetricsStore(MetricsStore):
    """Series by (tenant, name), then by labels; each a list of samples oldest first. One lock: a
    write lands whole before any read sees it."""

    name: ClassVar[str] = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], dict[Labels, list[tuple[int, float]]]] = {}

    def write(self, tenant: str, series: Sequence[Series]) -> None:
        with self._lock:
            for item in series:
                stored = self._series.setdefault((tenant, item.key.name), {}).setdefault(item.key.labels, [])
                for at, value in item.samples:
                    index = bisect_left(stored, at, key=lambda sample: sample[0])
                    if index == len(stored) or stored[index][0] != at:  # the first value of an instant stays
                        stored.insert(index, (at, value))

    def _matching(self, tenant: str, name: str, wanted: Labels) -> list[tuple[Labels, list[tuple[int, float]]]]:
        with self._lock:
            return [(labels, list(samples)) for labels, samples in self._series.get((tenant, name), {}).items()
                    if matches(labels, wanted)]

    def step_values(self, tenant: str, name: str, wanted: Labels, window: TimeRange) -> list[StepValue]:
        found: list[StepValue] = []
        for labels, samples in self._matching(tenant, name, wanted):
            last: dict[int, float] = {}
            for at, value in samples:  # oldest first: a later sample of the same step replaces it
                point = window.point_of(at)
                if point is not None:
                    last[point] = value
            found += [(point, labels, value) for point, value in last.items()]
        return found

    def latest(self, tenant: str, name: str, wanted: Labels) -> float | None:
        values = [samples[-1][1] for _, samples in self._matching(tenant, name, wanted) if samples]
        return max(values) if values else None

    def quantile(self, tenant: str, histogram: str, wanted: Labels, quantile: float, window: TimeRange) -> float:
        increases: list[tuple[str, float]] = []
        for labels, samples in self._matching(tenant, histogram, wanted):
            bound, rise = bucket_bound(labels), increase(samples, window)
            if bound is not None and rise is not None:
                increases.append((bound, rise))
        return quantile_of_increases(quantile, increases)
