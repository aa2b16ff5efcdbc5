"""The metrics domain alone: step windows, the quantile port's edges, the collector's samples, and
the exporter's view of a collector."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta

import pytest

from adapters.prometheus.exporter import exposition, registry_for
from domain.metrics.collector import MetricsCollector
from domain.metrics.quantile import histogram_quantile
from domain.metrics.time_range import TimeRange, to_millis

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_a_sample_belongs_to_the_step_ending_at_or_after_it() -> None:
    window = TimeRange.of(START, START + 3 * MINUTE, MINUTE)
    start = window.start_ms
    assert window.point_of(start - 60_000) is None  # (start - step, start] is open on the left
    assert window.point_of(start - 59_999) == start
    assert window.point_of(start) == start
    assert window.point_of(start + 1) == start + 60_000
    assert window.point_of(start + 180_000) == start + 180_000
    assert window.point_of(start + 180_001) is None


def test_the_last_point_is_the_last_whole_step_before_the_end() -> None:
    window = TimeRange.of(START, START + timedelta(minutes=2, seconds=30), MINUTE)
    assert window.last_point_ms == to_millis(START + 2 * MINUTE)
    assert window.point_of(to_millis(START + timedelta(minutes=2, seconds=10))) is None


@pytest.mark.parametrize(("quantile", "expected"), [(-0.5, -math.inf), (1.5, math.inf)])
def test_a_quantile_outside_0_to_1_is_infinite_as_in_prometheus(quantile: float, expected: float) -> None:
    assert histogram_quantile(quantile, [(1.0, 1.0), (math.inf, 2.0)]) == expected


def test_no_inf_bucket_or_no_observation_gives_nan() -> None:
    assert math.isnan(histogram_quantile(0.5, [(1.0, 3.0), (2.0, 4.0)]))
    assert math.isnan(histogram_quantile(0.5, [(1.0, 0.0), (math.inf, 0.0)]))
    assert math.isnan(histogram_quantile(0.5, [(math.inf, 3.0)]))


def test_the_quantile_interpolates_linearly_inside_the_rank_bucket() -> None:
    buckets = [(0.1, 10.0), (0.2, 30.0), (math.inf, 40.0)]
    # rank 0.5 * 40 = 20 falls in (0.1, 0.2], 10 of its 20 observations in: halfway.
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.15)
    assert histogram_quantile(0.9, buckets) == 0.2  # in the +Inf bucket: the highest finite bound


def test_concurrent_updates_count_every_increment_once() -> None:
    collector = MetricsCollector()
    threads, per_thread = 8, 500

    def work() -> None:
        for _ in range(per_thread):
            collector.increment("hits_total", {"shard": "1"})

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    (series,) = collector.get_all_series()
    assert series.samples[-1][1] == threads * per_thread
    assert [at for at, _ in series.samples] == sorted({at for at, _ in series.samples})


def test_updates_in_one_millisecond_keep_one_sample() -> None:
    collector = MetricsCollector()
    for _ in range(3):
        collector.increment("hits_total", at=START)
    collector.observe("wait_seconds", 0.3, at=START, buckets=(0.5,))
    collector.observe("wait_seconds", 0.7, at=START, buckets=(0.5,))
    by_name = {(s.key.name, s.key.labels): s.samples for s in collector.get_all_series()}
    at = to_millis(START)
    assert by_name[("hits_total", ())] == ((at, 3.0),)
    assert by_name[("wait_seconds_bucket", (("le", "0.5"),))] == ((at, 1.0),)
    assert by_name[("wait_seconds_bucket", (("le", "+Inf"),))] == ((at, 2.0),)
    ((sum_at, total),) = by_name[("wait_seconds_sum", ())]
    assert sum_at == at and total == pytest.approx(1.0)


def test_the_exporter_exposes_the_running_values() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    collector = MetricsCollector()
    collector.increment("jobs_done_total", {"queue": "fast"}, amount=4, at=START)
    collector.drain()  # exposition reads running values, whatever was saved
    collector.set_gauge("queue_depth", 7, {"queue": "fast"}, at=START)
    for value in (0.2, 0.4, 3.0):
        collector.observe("job_seconds", value, at=START, buckets=(0.25, 1.0))

    families = {family.name: family for family in text_string_to_metric_families(
        exposition(registry_for(collector, tenant="acme")))}

    samples = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
               for family in families.values() for sample in family.samples}
    assert families["jobs_done"].type == "counter"
    assert samples[("jobs_done_total", (("queue", "fast"), ("tenant", "acme")))] == 4.0
    assert samples[("queue_depth", (("queue", "fast"), ("tenant", "acme")))] == 7.0
    assert samples[("job_seconds_bucket", (("le", "0.25"), ("tenant", "acme")))] == 1.0
    assert samples[("job_seconds_bucket", (("le", "1.0"), ("tenant", "acme")))] == 2.0
    assert samples[("job_seconds_bucket", (("le", "+Inf"), ("tenant", "acme")))] == 3.0
    assert samples[("job_seconds_count", (("tenant", "acme"),))] == 3.0
    assert samples[("job_seconds_sum", (("tenant", "acme"),))] == pytest.approx(3.6)
