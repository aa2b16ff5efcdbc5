"""The Prometheus metrics store against the real server: faults, the wire, and Prometheus' own
`histogram_quantile` against the domain's."""

from __future__ import annotations

import math
import random
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.prometheus.client import PrometheusHttp, PrometheusSettings
from adapters.prometheus.metrics import PrometheusMetricsStore
from adapters.prometheus.wire import WireSeries, decode_write_request, encode_write_request
from adapters.rules.metrics import metrics_repositories
from application.testing.contracts.metrics import recent_minute
from domain.metrics.collector import MetricsCollector
from domain.metrics.quantile import histogram_quantile
from domain.metrics.time_range import TimeRange, to_millis
from domain.shared.errors import StorageError, StorageUnavailable
from domain.shared.ids import new_id
from tests.servers import PrometheusServer, start_prometheus

pytestmark = pytest.mark.prometheus


def test_the_write_request_round_trips_through_protobuf_and_snappy() -> None:
    series = [WireSeries((("__name__", "up"), ("job", 'a"b')), ((1_700_000_000_123, 1.5), (1_700_000_001_000, -2.0)))]
    body = encode_write_request(series)
    assert body[:1] != b"\n"  # snappy-framed, not the bare protobuf
    assert decode_write_request(body) == series


def test_save_raises_storage_unavailable_after_bounded_retries_when_prometheus_is_down() -> None:
    settings = PrometheusSettings(url="", timeout_seconds=1.0, connect_timeout_seconds=0.5, retries=2,
                                  backoff_seconds=0.1)
    with start_prometheus() as server:
        http = PrometheusHttp(replace(settings, url=server.url))
        repository = metrics_repositories(PrometheusMetricsStore(http)).for_tenant(new_id())
        collector = MetricsCollector()
        collector.increment("saves_total", at=recent_minute())
        repository.save(collector)  # up: it lands
        assert repository.query_latest("saves_total") == 1.0
        server.process.terminate()
        server.process.wait(30)

        began = time.monotonic()
        with pytest.raises(StorageUnavailable, match="after 3 tries"):
            repository.save(collector)
        with pytest.raises(StorageUnavailable):
            repository.query_latest("saves_total")
        elapsed = time.monotonic() - began
        http.close()
    assert elapsed < 2 * 3 * (settings.connect_timeout_seconds + settings.timeout_seconds)


def test_a_refused_write_is_a_storage_error_not_retried(prometheus_server: PrometheusServer) -> None:
    http = PrometheusHttp(PrometheusSettings(url=prometheus_server.url, retries=5, backoff_seconds=5))
    began = time.monotonic()
    with pytest.raises(StorageError) as raised:
        http.write(b"this is not snappy")
    assert not isinstance(raised.value, StorageUnavailable)
    assert time.monotonic() - began < 5  # no backoff: a 400 would be refused again
    http.close()


def test_prometheus_interpolates_as_the_domain_does(prometheus_server: PrometheusServer) -> None:
    """Bucket counts written as plain samples, then Prometheus' own `histogram_quantile` on them:
    the domain's port of bucketQuantile must give the same number, edge cases included."""
    http = PrometheusHttp(PrometheusSettings(url=prometheus_server.url))
    sampler = random.Random(7)
    at = to_millis(recent_minute())
    cases: list[list[tuple[float, float]]] = [
        [(0.1, 3.0), (0.5, 9.0), (1.0, 9.0), (math.inf, 10.0)],  # rank in the +Inf bucket for p99
        [(-1.0, 2.0), (0.0, 4.0), (2.0, 10.0), (math.inf, 10.0)],  # a first bucket with a bound <= 0
        [(0.25, 5.0), (0.5, 4.0), (math.inf, 12.0)],  # counts that fall: raised to be monotonic
    ]
    for _ in range(5):
        counts = sorted(sampler.randint(0, 50) for _ in range(4))
        cases.append([(0.05, counts[0]), (0.2, counts[1]), (1.0, counts[2]), (math.inf, counts[3] + 1)])
    tenant = str(new_id())
    series = [
        WireSeries((("__name__", "probe_bucket"), ("tenant", tenant), ("case", str(index)),
                    ("le", "+Inf" if math.isinf(bound) else repr(bound))), ((at, count),))
        for index, buckets in enumerate(cases) for bound, count in buckets
    ]
    http.write(encode_write_request(series))
    for index, buckets in enumerate(cases):
        for quantile in (0.01, 0.25, 0.5, 0.9, 0.99):
            result = http.query("/api/v1/query", {
                "query": f'histogram_quantile({quantile}, probe_bucket{{tenant="{tenant}",case="{index}"}})',
                "time": str(at / 1000)})
            theirs = float(result[0]["value"][1])
            assert histogram_quantile(quantile, buckets) == pytest.approx(theirs, rel=1e-12), (index, quantile)
    http.close()


def test_the_step_windows_agree_with_query_range_to_the_millisecond(prometheus_server: PrometheusServer) -> None:
    """Samples one millisecond either side of a step boundary land on the points the memory store
    computes: the `step - 1ms` window is what makes Prometheus 2's closed ranges half-open."""
    http = PrometheusHttp(PrometheusSettings(url=prometheus_server.url))
    store = PrometheusMetricsStore(http)
    start = recent_minute()
    collector = MetricsCollector()
    for offset_ms, value in ((-1, 1.0), (0, 2.0), (1, 3.0), (59_999, 4.0), (60_000, 5.0), (60_001, 6.0)):
        collector.set_gauge("edge", value, at=start + timedelta(milliseconds=offset_ms))
    tenant = str(new_id())
    store.write(tenant, collector.get_all_series())
    window = TimeRange.of(start, start + timedelta(minutes=2), timedelta(minutes=1))
    found = sorted((point, value) for point, _, value in store.step_values(tenant, "edge", (), window))
    expected = {}
    for item in collector.get_all_series():
        for sample_ms, value in item.samples:
            point = window.point_of(sample_ms)
            if point is not None:
                expected[point] = value
    assert found == sorted(expected.items())
    http.close()
