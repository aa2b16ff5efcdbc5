"""For deployments that scrape instead of push: a collector's running values as a prometheus-client
registry, served by `prometheus_client`'s own HTTP server or WSGI app, or rendered by `exposition()`.

The values are read at each scrape (a custom prometheus-client collector), so nothing is copied
between scrapes and the two libraries never disagree on a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from domain.metrics.collector import MetricsCollector, Reading
from domain.metrics.names import TENANT_LABEL
from domain.metrics.quantile import format_bound
from domain.metrics.series import MetricKind

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry


class _Scraped:
    """A prometheus-client collector over a MetricsCollector."""

    def __init__(self, collector: MetricsCollector, tenant: str | None) -> None:
        self._collector = collector
        self._constant = {} if tenant is None else {TENANT_LABEL: tenant}

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        made = {MetricKind.COUNTER: CounterMetricFamily, MetricKind.GAUGE: GaugeMetricFamily,
                MetricKind.HISTOGRAM: HistogramMetricFamily}
        by_name: dict[str, list[Reading]] = {}
        for reading in self._collector.readings():
            by_name.setdefault(reading.key.name, []).append(reading)
        for name, readings in sorted(by_name.items()):
            kind = readings[0].kind
            # One family has one list of label names: a series without one of them has it empty,
            # which Prometheus reads as the label being absent.
            names = sorted({*self._constant, *(label for item in readings for label, _ in item.key.labels)})
            # A counter family is named without `_total`; prometheus-client adds it back.
            family = made[kind](name.removesuffix("_total") if kind is MetricKind.COUNTER else name,
                                f"{name} ({kind.value})", labels=names)
            for reading in sorted(readings, key=lambda item: item.key.labels):
                present = {**self._constant, **dict(reading.key.labels)}
                values = [present.get(label, "") for label in names]
                if kind is MetricKind.HISTOGRAM:
                    family.add_metric(values, [(format_bound(bound), count) for bound, count in reading.buckets],
                                      reading.value)
                else:
                    family.add_metric(values, reading.value)
            yield family


def registry_for(collector: MetricsCollector, *, tenant: str | None = None) -> CollectorRegistry:
    """A registry exposing `collector` (with a constant `tenant` label when given)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scraped(collector, tenant))
    return registry


def exposition(registry: CollectorRegistry) -> str:
    """The text a scrape of `registry` returns."""
    from prometheus_client import generate_latest

    return generate_latest(registry).decode()
