"""Storing and summarising the repository layer's own metrics (`adapters/instrumentation.py` records
them when `PORTSIDE_METRICS_INSTRUMENT_REPOSITORIES` is on)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.metrics.collector import MetricsCollector
from domain.metrics.names import Labels
from domain.metrics.platform import REPOSITORY_LATENCY, REPOSITORY_OPERATIONS
from domain.metrics.quantile import histogram_quantile
from domain.shared.errors import StorageUnavailable
from ports.metrics import MetricsRepositoryFactory


class SaveRepositoryMetrics:
    """Hand the samples recorded so far to the metrics backend, under the platform's own tenant
    label. Call it on a timer (every few seconds) or at shutdown."""

    def __init__(self, repositories: MetricsRepositoryFactory, collector: MetricsCollector) -> None:
        self._repositories = repositories
        self._collector = collector
        self._unsaved: list[MetricsCollector] = []

    def __call__(self) -> int:
        """The number of samples stored. A backend that is down keeps them for the next call
        (`StorageUnavailable` is raised all the same): saves are idempotent, so nothing doubles."""
        pending = [*self._unsaved, self._collector.drain()]
        self._unsaved = []
        repository = self._repositories.system()
        stored = 0
        for index, drained in enumerate(pending):
            try:
                repository.save(drained)
            except StorageUnavailable:
                self._unsaved = pending[index:]
                raise
            stored += drained.sample_count
        return stored


@dataclass(frozen=True, slots=True)
class OperationSummary:
    context: str
    repository: str
    method: str
    calls: int
    failures: int
    p95_ms: float | None
    """Interpolated in the latency histogram's buckets, as Prometheus would."""


def summarise_operations(collector: MetricsCollector) -> list[OperationSummary]:
    """One row per repository method the collector saw, in name order: for `portside doctor`."""
    calls: dict[Labels, int] = {}
    failures: dict[Labels, int] = {}
    latencies: dict[Labels, list[tuple[float, float]]] = {}
    for reading in collector.readings():
        labels = dict(reading.key.labels)
        method: Labels = tuple((name, labels.get(name, "")) for name in ("context", "repository", "method"))
        if reading.key.name == REPOSITORY_OPERATIONS:
            calls[method] = calls.get(method, 0) + int(reading.value)
            if labels.get("outcome") != "ok":
                failures[method] = failures.get(method, 0) + int(reading.value)
        elif reading.key.name == REPOSITORY_LATENCY:
            latencies[method] = [(bound, float(count)) for bound, count in reading.buckets]
    rows = []
    for method, count in sorted(calls.items()):
        quantile = histogram_quantile(0.95, latencies.get(method, []))
        context, repository, name = (value for _, value in method)
        rows.append(OperationSummary(context, repository, name, count, failures.get(method, 0),
                                     None if quantile != quantile else round(quantile * 1000, 3)))
    return rows
