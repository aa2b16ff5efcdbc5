"""The MetricsCollector aggregate: what a process measured, as series of timestamped samples.

Counters, gauges and histograms keep their running values; every change records a sample of the
series it touched, stamped to the millisecond (a second change in the same millisecond replaces
that sample), which is what a `MetricsRepository` stores. `drain()` hands over the samples recorded
so far and keeps the running values, so a counter goes on counting up across saves, as Prometheus
expects of a counter.

A plain object with a lock, not a pydantic model: it is updated on hot paths (the repositories'
own instrumentation) and from several threads, and every update is validated by the checks of
`names` once per new series only.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from domain.metrics.names import BUCKET_LABEL, Labels, labels, metric_name
from domain.metrics.quantile import format_bound
from domain.metrics.series import COUNT_SUFFIX, SUM_SUFFIX, MetricKind, Series, SeriesKey, bucket_series_name
from domain.metrics.time_range import from_millis, to_millis
from domain.shared.checks import aware_datetime
from domain.shared.errors import ValidationError

DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds, the Prometheus clients' defaults: latencies from 5 ms to 10 s."""


@dataclass(slots=True)
class _Recorded:
    """One series' samples since the last drain, and its running value."""

    samples: list[tuple[int, float]] = field(default_factory=list)
    value: float = 0.0

    def record(self, at: int, value: float, key: SeriesKey) -> None:
        self.value = value
        if self.samples and self.samples[-1][0] >= at:
            if self.samples[-1][0] > at:
                raise ValidationError("at", f"{from_millis(at).isoformat()} is before the last sample of {key.name}")
            self.samples[-1] = (at, value)
            return
        self.samples.append((at, value))


@dataclass(frozen=True, slots=True)
class Reading:
    """A series' running value now: what a scrape exposes (`adapters/prometheus/exporter.py`)."""

    kind: MetricKind
    key: SeriesKey
    value: float
    """A counter's total or a gauge's value; a histogram's sum of observations."""
    buckets: tuple[tuple[float, int], ...] = ()
    """A histogram's cumulative counts by upper bound, `+Inf` last."""


@dataclass(slots=True)
class _Histogram:
    bounds: tuple[float, ...]
    """Upper bounds, ascending, `+Inf` last."""
    bucket_keys: tuple[SeriesKey, ...]
    sum_key: SeriesKey
    count_key: SeriesKey
    counts: list[int]


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(field, f"expected a finite number, got {value!r}")
    return float(value)


def _bucket_bounds(buckets: Sequence[float]) -> tuple[float, ...]:
    bounds = [_number(bound, "buckets") for bound in buckets]
    if not bounds or any(later <= earlier for earlier, later in pairwise(bounds)):
        raise ValidationError("buckets", "expected at least one finite upper bound, strictly ascending")
    return (*bounds, math.inf)


class MetricsCollector:
    """Collects counters, gauges and histograms, each series a name and labels.

    `at` defaults to the collector's clock, read under its lock, so that concurrent updates stamp
    their samples in the order they are applied; an explicit `at` before a series' last sample is
    refused (`ValidationError("at")`), since a counter's past cannot change.
    """

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        """`now`: where the time of an update without `at` comes from (a `Clock`'s `now`)."""
        self._now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._kinds: dict[str, MetricKind] = {}
        self._series: dict[SeriesKey, _Recorded] = {}
        self._histograms: dict[SeriesKey, _Histogram] = {}
        self._bounds: dict[str, tuple[float, ...]] = {}
        self._checked: dict[tuple[str, Any], SeriesKey] = {}

    # -- recording ----------------------------------------------------------------------------
    def increment(self, name: str, tags: Mapping[str, str] | None = None, amount: float = 1.0,
                  at: datetime | None = None) -> float:
        """Add `amount` (not negative) to a counter; returns its new total."""
        step = _number(amount, "amount")
        if step < 0:
            raise ValidationError("amount", f"a counter only goes up, got {amount!r}")
        key = self._key(name, tags, MetricKind.COUNTER)
        with self._lock:
            recorded = self._series.setdefault(key, _Recorded())
            total = recorded.value + step
            recorded.record(self._millis(at), total, key)
            return total

    def set_gauge(self, name: str, value: float, tags: Mapping[str, str] | None = None,
                  at: datetime | None = None) -> None:
        number = _number(value, "value")
        key = self._key(name, tags, MetricKind.GAUGE)
        with self._lock:
            self._series.setdefault(key, _Recorded()).record(self._millis(at), number, key)

    def observe(self, name: str, value: float, tags: Mapping[str, str] | None = None,
                at: datetime | None = None, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        """Count one observation into a histogram. The buckets are fixed by a name's first use."""
        number = _number(value, "value")
        key = self._key(name, tags, MetricKind.HISTOGRAM)
        with self._lock:
            histogram = self._histograms.get(key)
            if histogram is None:
                histogram = self._new_histogram(key, buckets)
            millis = self._millis(at)
            for index, bound in enumerate(histogram.bounds):
                if number <= bound:
                    histogram.counts[index] += 1
            for bucket_key, count in zip(histogram.bucket_keys, histogram.counts, strict=True):
                self._series.setdefault(bucket_key, _Recorded()).record(millis, float(count), bucket_key)
            total = self._series.setdefault(histogram.sum_key, _Recorded())
            total.record(millis, total.value + number, histogram.sum_key)
            self._series.setdefault(histogram.count_key, _Recorded()).record(
                millis, float(histogram.counts[-1]), histogram.count_key)

    # -- reading ------------------------------------------------------------------------------
    def get_all_series(self) -> list[Series]:
        """Every series with samples recorded since the last drain, histograms as their bucket,
        sum and count series."""
        with self._lock:
            return [Series(key, tuple(recorded.samples)) for key, recorded in self._series.items()
                    if recorded.samples]

    def readings(self) -> list[Reading]:
        """Every counter, gauge and histogram with its running value, histograms whole."""
        with self._lock:
            found = [Reading(self._kinds[key.name], key, recorded.value) for key, recorded in self._series.items()
                     if self._kinds.get(key.name) in (MetricKind.COUNTER, MetricKind.GAUGE)]
            for key, histogram in self._histograms.items():
                found.append(Reading(MetricKind.HISTOGRAM, key, self._series[histogram.sum_key].value,
                                     tuple(zip(histogram.bounds, histogram.counts, strict=True))))
        return found

    def drain(self) -> MetricsCollector:
        """A collector holding the samples recorded so far; this one keeps counting from its
        running values with no samples. Save the drained one (and retry it on failure)."""
        drained = MetricsCollector(self._now)
        with self._lock:
            for key, recorded in self._series.items():
                if recorded.samples:
                    drained._series[key] = _Recorded(recorded.samples, recorded.value)
                    recorded.samples = []
            drained._kinds = dict(self._kinds)
        return drained

    @property
    def sample_count(self) -> int:
        with self._lock:
            return sum(len(recorded.samples) for recorded in self._series.values())

    def kind_of(self, name: str) -> MetricKind | None:
        return self._kinds.get(name)

    # -- internals ----------------------------------------------------------------------------
    def _key(self, name: str, tags: Mapping[str, str] | None, kind: MetricKind) -> SeriesKey:
        """Checked once per name and label set: the fast path is one dict lookup."""
        cache_key: tuple[str, Any] = (name, None if not tags else tuple(tags.items()))
        try:
            found = self._checked.get(cache_key)
        except TypeError:  # an unhashable value: the checks below say what is wrong with it
            found, cache_key = None, ("", None)
        if found is not None and self._kinds.get(name) is kind:
            return found
        checked: Labels = labels(tags, "tags")
        key = SeriesKey(metric_name(name), checked)
        with self._lock:
            known = self._kinds.setdefault(key.name, kind)
            if known is not kind:
                raise ValidationError("name", f"{key.name!r} is a {known.value}, not a {kind.value}")
            if kind is MetricKind.HISTOGRAM:
                for derived in (bucket_series_name(key.name), key.name + SUM_SUFFIX, key.name + COUNT_SUFFIX):
                    if self._kinds.setdefault(derived, kind) is not kind:
                        raise ValidationError("name", f"{derived!r} is already another metric")
            if cache_key[0]:
                self._checked[cache_key] = key
        return key

    def _new_histogram(self, key: SeriesKey, buckets: Sequence[float]) -> _Histogram:
        bounds = _bucket_bounds(buckets)
        known = self._bounds.setdefault(key.name, bounds)
        if known != bounds:
            raise ValidationError("buckets", f"{key.name!r} already has the buckets {known[:-1]}")
        bucket = SeriesKey(bucket_series_name(key.name), key.labels)
        histogram = _Histogram(
            bounds=bounds,
            bucket_keys=tuple(bucket.with_label(BUCKET_LABEL, format_bound(bound)) for bound in bounds),
            sum_key=SeriesKey(key.name + SUM_SUFFIX, key.labels),
            count_key=SeriesKey(key.name + COUNT_SUFFIX, key.labels),
            counts=[0] * len(bounds),
        )
        self._histograms[key] = histogram
        return histogram

    def _millis(self, at: datetime | None) -> int:
        if at is None:
            return to_millis(self._now())
        return to_millis(aware_datetime(at, "at"))
