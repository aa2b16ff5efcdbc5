"""`get_metrics`, the one inference-request query a backend answers better in one statement.

`StoreInferenceMetrics` answers it over any record store (the memory adapter uses it), reading the
range's latencies, costs and statuses; SQL (`adapters/sql/control_plane.py`) and BigQuery
(`adapters/bigquery/control_plane.py`) aggregate in the database instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from adapters.records.store import Query, RecordStore
from domain.control_plane.inference import InferenceMetrics, InferenceRequest, InferenceStatus, metrics_of
from domain.shared.filters import Condition, Operator


class InferenceMetricsQuery(ABC):
    @abstractmethod
    def metrics(self, start: datetime, end: datetime) -> InferenceMetrics:
        """Over the store's tenant's requests with `start <= requested_at < end` (checked arguments)."""


def in_range(start: datetime, end: datetime) -> tuple[Condition, ...]:
    return (Condition("requested_at", Operator.GTE, start), Condition("requested_at", Operator.LT, end))


class StoreInferenceMetrics(InferenceMetricsQuery):
    def __init__(self, store: RecordStore[InferenceRequest]) -> None:
        self._store = store

    def metrics(self, start: datetime, end: datetime) -> InferenceMetrics:
        rows = self._store.find(Query(in_range(start, end)))
        failed = sum(1 for row in rows if row.status is InferenceStatus.FAILED)
        return metrics_of([row.latency_ms for row in rows], [row.cost_cents for row in rows], failed)
