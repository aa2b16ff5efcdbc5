"""The metrics repository port (spec 002's MetricsRepository), bound to one tenant.

Metrics are not part of a unit of work: a measurement must survive the rollback of the work it
measured, and Prometheus has no transactions. Each `save` is atomic on its own (one SQL transaction,
one remote-write request) and idempotent (a sample already stored for a series at an instant is kept,
so a `save` retried after `StorageUnavailable` stores nothing twice).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from domain.metrics.collector import MetricsCollector
from domain.metrics.series import TimestampedValue
from domain.metrics.time_range import Percentile, TimeRange


class MetricsRepository(ABC):
    """Every series it writes carries its tenant; every query it runs is confined to that tenant."""

    @abstractmethod
    def save(self, collector: MetricsCollector) -> None:
        """Store every sample the collector recorded (`collector.drain()` hands them over once)."""

    @abstractmethod
    def query_time_series(self, metric_name: str, range: TimeRange,
                          tags: Mapping[str, str] | None = None) -> list[TimestampedValue]:
        """At each point t of the range, the last sample of the step ending at t, `(t - step, t]`, of
        every series of that name carrying `tags`; ordered by point, then by the series' tags. A
        point whose step holds no sample of a series has no value for it."""

    @abstractmethod
    def query_latest(self, metric_name: str, tags: Mapping[str, str] | None = None) -> float | None:
        """The highest of the latest values of the series of that name carrying `tags` (the spec's
        `max`); None when there is none."""

    @abstractmethod
    def get_percentile(self, metric_name: str, percentile: Percentile, range: TimeRange,
                       tags: Mapping[str, str] | None = None) -> float | None:
        """The percentile of the histogram's observations in `(range.start, range.end]`, summed over
        its series carrying `tags`, interpolated inside buckets as Prometheus' `histogram_quantile`
        does; None when nothing was observed then."""


class MetricsRepositoryFactory(ABC):
    @abstractmethod
    def for_tenant(self, tenant: object) -> MetricsRepository: ...

    @abstractmethod
    def system(self) -> MetricsRepository:
        """The platform's own metrics (the repositories' instrumentation), under a tenant label no
        tenant has (the nil UUID)."""
