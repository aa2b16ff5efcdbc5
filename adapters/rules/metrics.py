"""The metrics repository on any `MetricsStore`: the caller's arguments checked once, before any
I/O, the tenant added to every write and every query, the answers shaped alike on every backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.metrics import MetricsStore, finite_or_none
from domain.metrics.collector import MetricsCollector
from domain.metrics.names import labels, metric_name
from domain.metrics.series import TimestampedValue, bucket_series_name
from domain.metrics.time_range import Percentile, TimeRange, from_millis
from domain.shared.errors import TenantScopeRequired, ValidationError
from domain.shared.ids import tenant_id
from ports.metrics import MetricsRepository, MetricsRepositoryFactory

SYSTEM_TENANT = "00000000-0000-0000-0000-000000000000"
"""The tenant label of the platform's own metrics: the nil UUID, which no tenant's id (a UUIDv7) is."""


def _range(value: Any) -> TimeRange:
    if not isinstance(value, TimeRange):
        raise ValidationError("range", f"expected a TimeRange (TimeRange.of(start, end, step)), got "
                                       f"{type(value).__name__}")
    return value


class TenantMetrics(MetricsRepository):
    def __init__(self, store: MetricsStore, tenant: str) -> None:
        self._store = store
        self.tenant = tenant

    def save(self, collector: MetricsCollector) -> None:
        if not isinstance(collector, MetricsCollector):
            raise ValidationError("collector", f"expected a MetricsCollector, got {type(collector).__name__}")
        series = collector.get_all_series()
        if series:
            self._store.write(self.tenant, series)

    def query_time_series(self, metric_name: str, range: TimeRange,
                          tags: Mapping[str, str] | None = None) -> list[TimestampedValue]:
        name, window, wanted = _checked_name(metric_name), _range(range), labels(tags, "tags")
        found = sorted(self._store.step_values(self.tenant, name, wanted, window))
        return [TimestampedValue(from_millis(point), value, dict(series)) for point, series, value in found]

    def query_latest(self, metric_name: str, tags: Mapping[str, str] | None = None) -> float | None:
        return self._store.latest(self.tenant, _checked_name(metric_name), labels(tags, "tags"))

    def get_percentile(self, metric_name: str, percentile: Percentile, range: TimeRange,
                       tags: Mapping[str, str] | None = None) -> float | None:
        name, wanted = _checked_name(metric_name), labels(tags, "tags")
        quantile, window = Percentile.of(percentile).quantile, _range(range)
        return finite_or_none(self._store.quantile(self.tenant, bucket_series_name(name), wanted, quantile, window))


def _checked_name(value: Any) -> str:
    return metric_name(value, "metric_name")


class TenantMetricsFactory(MetricsRepositoryFactory):
    def __init__(self, store: MetricsStore) -> None:
        self.store = store

    def for_tenant(self, tenant: object) -> MetricsRepository:
        if tenant is None:
            raise TenantScopeRequired("metrics are tenant-labelled: name the tenant (or use system())")
        return TenantMetrics(self.store, str(tenant_id(tenant)))

    def system(self) -> MetricsRepository:
        return TenantMetrics(self.store, SYSTEM_TENANT)


def metrics_repositories(store: MetricsStore) -> MetricsRepositoryFactory:
    return TenantMetricsFactory(store)
