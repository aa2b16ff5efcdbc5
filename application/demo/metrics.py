"""The metrics scenario: a tenant's request counts and latencies over ten minutes, read back as a
series, a latest value and a p95, on whichever metrics backend is configured."""

from __future__ import annotations

import random
from datetime import timedelta

from application.console import Report
from application.container import Container
from domain.metrics.collector import MetricsCollector
from domain.metrics.time_range import Percentile, TimeRange
from domain.shared.errors import ValidationError
from domain.shared.ids import new_id

MINUTE = timedelta(minutes=1)


def run(container: Container, report: Report) -> None:
    report.heading(f"metrics: series per tenant, on the {container.settings().metrics_store_backend} backend")
    # A tenant of its own each run: the demo's series never mix with an earlier run's.
    repository = container.metrics_repository().for_tenant(new_id())
    start = container.clock().now().replace(second=0, microsecond=0) - 10 * MINUTE
    sampler = random.Random(2026)
    collector = MetricsCollector()
    for second in range(1, 600, 3):
        at = start + timedelta(seconds=second)
        collector.increment("http_requests_total", {"route": "/pay"}, at=at)
        collector.observe("http_request_seconds", sampler.lognormvariate(-2.5, 0.8), {"route": "/pay"}, at=at)
        collector.set_gauge("open_connections", sampler.randint(3, 12), at=at)
    drained = collector.drain()
    repository.save(drained)
    report.note(f"saved {drained.sample_count} samples of {len(drained.get_all_series())} series; the collector "
                f"keeps its running totals and no sample ({collector.sample_count})")

    window = TimeRange.of(start, start + 10 * MINUTE, 2 * MINUTE)
    series = repository.query_time_series("http_requests_total", window)
    report.table(["at (UTC)", "requests so far"], [[v.timestamp.strftime("%H:%M"), int(v.value)] for v in series])
    report.note(f"open connections now: {repository.query_latest('open_connections'):.0f}")
    p95 = repository.get_percentile("http_request_seconds", Percentile(95), window)
    report.note(f"p95 latency over the ten minutes: {0 if p95 is None else p95 * 1000:.1f} ms "
                f"(interpolated in its bucket, as Prometheus does)")
    try:
        repository.get_percentile("http_request_seconds", Percentile(100), window)
    except ValidationError as error:
        report.note(f"p100 is refused: ValidationError: {error}")
