"""What a metric is made of: kinds, series identities, timestamped values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.metrics.names import BUCKET_LABEL, Labels
from domain.metrics.time_range import from_millis


class MetricKind(StrEnum):
    COUNTER = "counter"
    """Only goes up (a total of calls, bytes...)."""
    GAUGE = "gauge"
    """Goes up and down (a queue depth, a temperature)."""
    HISTOGRAM = "histogram"
    """Observations counted into buckets, stored as `<name>_bucket{le=...}`, `<name>_sum`, `<name>_count`."""


BUCKET_SUFFIX = "_bucket"
SUM_SUFFIX = "_sum"
COUNT_SUFFIX = "_count"


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """A series is a metric name and a label set (canonical: sorted by name)."""

    name: str
    labels: Labels = ()

    def with_label(self, name: str, value: str) -> SeriesKey:
        return SeriesKey(self.name, tuple(sorted((*self.labels, (name, value)))))


@dataclass(frozen=True, slots=True)
class TimestampedValue:
    """One value of a series at an instant; `tags` are the series' labels (the tenant's left out)."""

    timestamp: datetime
    value: float
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Series:
    """A stored series: its identity and its samples, (milliseconds, value), oldest first."""

    key: SeriesKey
    samples: tuple[tuple[int, float], ...]

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.key.labels)

    def get_values(self) -> list[TimestampedValue]:
        tags = self.tags
        return [TimestampedValue(from_millis(at), value, tags) for at, value in self.samples]


def bucket_series_name(histogram: str) -> str:
    return histogram + BUCKET_SUFFIX


def without_bucket_label(labels: Labels) -> Labels:
    return tuple(item for item in labels if item[0] != BUCKET_LABEL)
