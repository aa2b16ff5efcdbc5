"""Metrics on a real Prometheus: writes by remote write, reads by the HTTP query API.

Every series is written with a `tenant` label and every query's selector matches it first, so no
query crosses tenants. The server must run with `--web.enable-remote-write-receiver`; writing
samples older than its newest by more than an hour needs `out_of_order_time_window` in its
`storage.tsdb` configuration (Prometheus 2.39+). Reads look back at most `history` (Prometheus keeps
15 days by default): a sample older than that is gone from Prometheus' answers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar

from adapters.metrics import MetricsStore, StepValue
from adapters.prometheus import promql
from adapters.prometheus.client import PrometheusHttp
from adapters.prometheus.wire import WireSeries, encode_write_request
from domain.metrics.names import TENANT_LABEL, Labels
from domain.metrics.series import Series
from domain.metrics.time_range import TimeRange
from domain.shared.errors import StorageError

NAME_LABEL = "__name__"
DEFAULT_HISTORY = timedelta(days=15)
MAX_SERIES_PER_REQUEST = 2_000
"""Series per remote-write request: a large save becomes several requests of bounded size."""


def _number(text: str) -> float:
    return float(text)  # Prometheus writes NaN and +Inf as "NaN" and "+Inf", which float() reads


class PrometheusMetricsStore(MetricsStore):
    name: ClassVar[str] = "prometheus"

    def __init__(self, http: PrometheusHttp, history: timedelta = DEFAULT_HISTORY) -> None:
        self._http = http
        self._history = history

    def write(self, tenant: str, series: Sequence[Series]) -> None:
        wire = [WireSeries(((NAME_LABEL, item.key.name), (TENANT_LABEL, tenant), *item.key.labels), item.samples)
                for item in series]
        for first in range(0, len(wire), MAX_SERIES_PER_REQUEST):
            self._http.write(encode_write_request(wire[first:first + MAX_SERIES_PER_REQUEST]))

    def step_values(self, tenant: str, name: str, wanted: Labels, window: TimeRange) -> list[StepValue]:
        query = promql.last_in_steps(promql.selector(name, tenant, wanted), window.step_ms)
        result = self._http.query("/api/v1/query_range", {
            "query": query, "start": promql.rfc3339(window.start_ms), "end": promql.rfc3339(window.end_ms),
            "step": promql.duration(window.step_ms)})
        found: list[StepValue] = []
        for item in result:
            labels = _labels(item)
            found += [(round(float(at) * 1000), labels, _number(value)) for at, value in item["values"]]
        return found

    def latest(self, tenant: str, name: str, wanted: Labels) -> float | None:
        result = self._http.query("/api/v1/query", {
            "query": promql.latest(promql.selector(name, tenant, wanted), self._history)})
        return _number(result[0]["value"][1]) if result else None

    def quantile(self, tenant: str, histogram: str, wanted: Labels, quantile: float, window: TimeRange) -> float:
        query = promql.quantile_of_increase(promql.selector(histogram, tenant, wanted), quantile,
                                            window.start_ms, window.end_ms, self._history)
        result = self._http.query("/api/v1/query", {"query": query, "time": promql.rfc3339(window.end_ms)})
        if len(result) > 1:
            raise StorageError(f"prometheus answered {len(result)} series to one histogram_quantile")
        return _number(result[0]["value"][1]) if result else math.nan


def _labels(item: dict[str, Any]) -> Labels:
    metric: dict[str, str] = item["metric"]
    return tuple(sorted((name, value) for name, value in metric.items() if name not in (NAME_LABEL, TENANT_LABEL)))
