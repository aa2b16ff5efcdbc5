"""The metrics repository port's contract: what every `MetricsRepository` backend does.

Bind with a `metrics_repositories` fixture returning a `MetricsRepositoryFactory`. Each test writes
under tenants of its own, so the suite also runs against a shared server (a Prometheus that keeps
what earlier tests wrote). Samples are taken a few hours back from now, whole minutes: Prometheus
answers from its retention, and the minutes keep the step windows readable.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.metrics.collector import MetricsCollector
from domain.metrics.quantile import histogram_quantile
from domain.metrics.series import TimestampedValue
from domain.metrics.time_range import Percentile, TimeRange
from domain.shared.errors import TenantScopeRequired, ValidationError
from domain.shared.ids import new_id
from ports.metrics import MetricsRepository, MetricsRepositoryFactory

MINUTE = timedelta(minutes=1)
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def recent_minute(hours_ago: int = 3) -> datetime:
    now = datetime.now(UTC) - timedelta(hours=hours_ago)
    return now.replace(second=0, microsecond=0)


def tenant_repository(factory: MetricsRepositoryFactory) -> MetricsRepository:
    return factory.for_tenant(new_id())


def exact_percentile(observations: list[float], quantile: float) -> float:
    """The nearest-rank percentile of the raw observations: what the buckets approximate."""
    ordered = sorted(observations)
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


def bucket_counts(observations: list[float], bounds: tuple[float, ...]) -> list[tuple[float, float]]:
    return [(bound, float(sum(1 for value in observations if value <= bound))) for bound in (*bounds, math.inf)]


class MetricsContract:
    # -- series over a range --------------------------------------------------------------------
    def test_a_counter_over_a_range_has_one_value_per_step(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        collector = MetricsCollector()
        for minute in range(5):
            collector.increment("jobs_done_total", {"queue": "fast"}, amount=minute + 1,
                                at=start + minute * MINUTE + timedelta(seconds=30))
        repository.save(collector)

        found = repository.query_time_series("jobs_done_total", TimeRange.of(start, start + 5 * MINUTE, MINUTE))

        # The sample at m:30 lands on the point m+1 (the step (m, m+1]); the point `start` has none.
        assert found == [TimestampedValue(start + (minute + 1) * MINUTE, float(sum(range(1, minute + 2))),
                                          {"queue": "fast"}) for minute in range(5)]

    def test_each_point_takes_the_last_sample_of_the_step_ending_there(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        collector = MetricsCollector()
        for at, value in ((start, 1.0), (start + timedelta(seconds=20), 2.0), (start + MINUTE, 3.0),
                          (start + MINUTE + timedelta(milliseconds=1), 4.0), (start + 3 * MINUTE, 5.0)):
            collector.set_gauge("queue_depth", value, at=at)
        repository.save(collector)

        found = repository.query_time_series("queue_depth", TimeRange.of(start, start + 4 * MINUTE, MINUTE))

        # start: (start-1m, start] holds 1; start+1m: (start, start+1m] holds 2 and 3; start+2m: 4;
        # start+3m holds 5; start+4m: nothing.
        assert [(value.timestamp, value.value) for value in found] == [
            (start, 1.0), (start + MINUTE, 3.0), (start + 2 * MINUTE, 4.0), (start + 3 * MINUTE, 5.0)]

    def test_series_are_told_apart_by_labels_and_filtered_by_tags(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        collector = MetricsCollector()
        for route, method, value in (("/a", "GET", 1.0), ("/a", "POST", 2.0), ("/b", "GET", 4.0)):
            collector.set_gauge("in_flight", value, {"route": route, "method": method}, at=start)
        repository.save(collector)
        window = TimeRange.of(start, start + MINUTE, MINUTE)

        every = repository.query_time_series("in_flight", window)
        gets = repository.query_time_series("in_flight", window, {"method": "GET"})
        one = repository.query_time_series("in_flight", window, {"method": "POST", "route": "/a"})

        assert [(v.tags, v.value) for v in every] == [
            ({"method": "GET", "route": "/a"}, 1.0), ({"method": "GET", "route": "/b"}, 4.0),
            ({"method": "POST", "route": "/a"}, 2.0)]
        assert [v.value for v in gets] == [1.0, 4.0]
        assert [v.value for v in one] == [2.0]
        assert repository.query_time_series("in_flight", window, {"method": "PUT"}) == []
        assert repository.query_time_series("out_of_flight", window) == []

    def test_label_values_with_quotes_and_backslashes_are_values(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        tricky = 'say "hi"\\n\n,}{ or tenant="x"'
        collector = MetricsCollector()
        collector.set_gauge("greetings", 7, {"text": tricky}, at=start)
        collector.set_gauge("greetings", 9, {"text": "plain"}, at=start)
        repository.save(collector)

        found = repository.query_time_series("greetings", TimeRange.of(start, start + MINUTE, MINUTE), {"text": tricky})

        assert [(v.tags, v.value) for v in found] == [({"text": tricky}, 7.0)]
        assert repository.query_latest("greetings", {"text": tricky}) == 7.0

    # -- latest ---------------------------------------------------------------------------------
    def test_latest_is_the_last_value_and_the_highest_across_series(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        collector = MetricsCollector()
        for minute, value in enumerate((5.0, 9.0, 2.0)):
            collector.set_gauge("queue_depth", value, {"queue": "jobs"}, at=start + minute * MINUTE)
        collector.set_gauge("queue_depth", 4.0, {"queue": "mail"}, at=start)
        repository.save(collector)

        assert repository.query_latest("queue_depth", {"queue": "jobs"}) == 2.0
        assert repository.query_latest("queue_depth", {"queue": "mail"}) == 4.0
        assert repository.query_latest("queue_depth") == 4.0
        assert repository.query_latest("queue_depth", {"queue": "none"}) is None
        assert repository.query_latest("never_written") is None

    # -- percentiles ----------------------------------------------------------------------------
    def test_p95_of_a_histogram_interpolates_inside_its_bucket(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        sampler = random.Random(12)
        observations = [round(sampler.lognormvariate(-1.6, 0.9), 4) for _ in range(400)]
        collector = MetricsCollector()
        for index, value in enumerate(observations):
            collector.observe("request_seconds", value, {"route": "/pay"}, buckets=BUCKETS,
                              at=start + timedelta(seconds=1 + index // 4))
        repository.save(collector)
        window = TimeRange.of(start, start + 10 * MINUTE, MINUTE)

        p95 = repository.get_percentile("request_seconds", Percentile(95), window)

        assert p95 == pytest.approx(histogram_quantile(0.95, bucket_counts(observations, BUCKETS)), rel=1e-9)
        exact = exact_percentile(observations, 0.95)
        lower = max((bound for bound in (0.0, *BUCKETS) if bound < exact), default=0.0)
        upper = min(bound for bound in (*BUCKETS, math.inf) if bound >= exact)
        assert p95 is not None and lower <= p95 <= upper  # the interpolation error: one bucket's width

    def test_a_percentile_counts_only_what_was_observed_in_the_range(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        collector = MetricsCollector()
        early, late = [0.07] * 50, [0.7] * 50
        for index, value in enumerate(early):
            collector.observe("request_seconds", value, buckets=BUCKETS, at=start + timedelta(seconds=index))
        for index, value in enumerate(late):
            collector.observe("request_seconds", value, buckets=BUCKETS,
                              at=start + 2 * MINUTE + timedelta(seconds=index))
        repository.save(collector)

        only_late = repository.get_percentile("request_seconds", Percentile(50), TimeRange.of(
            start + MINUTE, start + 5 * MINUTE, MINUTE))
        both = repository.get_percentile("request_seconds", Percentile(25), TimeRange.of(
            start - MINUTE, start + 5 * MINUTE, MINUTE))
        nothing = repository.get_percentile("request_seconds", Percentile(50), TimeRange.of(
            start + 4 * MINUTE, start + 5 * MINUTE, MINUTE))

        assert only_late == pytest.approx(histogram_quantile(0.5, bucket_counts(late, BUCKETS)))
        assert both == pytest.approx(histogram_quantile(0.25, bucket_counts(early + late, BUCKETS)))
        assert nothing is None
        assert repository.get_percentile("never_observed", Percentile(50), TimeRange.of(
            start, start + MINUTE, MINUTE)) is None

    def test_percentiles_of_several_series_sum_their_buckets_and_follow_tags(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        collector = MetricsCollector()
        fast, slow = [0.04, 0.08, 0.09, 0.2], [0.4, 0.9, 2.0, 2.2]
        for route, values in (("/fast", fast), ("/slow", slow)):
            for index, value in enumerate(values):
                collector.observe("request_seconds", value, {"route": route}, buckets=BUCKETS,
                                  at=start + timedelta(seconds=index))
        repository.save(collector)
        window = TimeRange.of(start - MINUTE, start + MINUTE, MINUTE)

        every = repository.get_percentile("request_seconds", Percentile(90), window)
        slow_only = repository.get_percentile("request_seconds", Percentile(90), window, {"route": "/slow"})

        assert every == pytest.approx(histogram_quantile(0.9, bucket_counts(fast + slow, BUCKETS)))
        assert slow_only == pytest.approx(histogram_quantile(0.9, bucket_counts(slow, BUCKETS)))

    # -- saving ---------------------------------------------------------------------------------
    def test_saving_the_same_samples_again_stores_them_once(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        collector = MetricsCollector()
        for second in range(1, 4):
            collector.increment("retries_total", at=start + timedelta(seconds=second))
            collector.observe("request_seconds", 0.3, buckets=BUCKETS, at=start + timedelta(seconds=second))
        repository.save(collector)
        repository.save(collector)  # a save retried after a timeout
        window = TimeRange.of(start, start + MINUTE, MINUTE)

        assert [v.value for v in repository.query_time_series("retries_total", window)] == [3.0]
        assert [v.value for v in repository.query_time_series("request_seconds_count", window)] == [3.0]
        assert repository.get_percentile("request_seconds", Percentile(50), window) == pytest.approx(
            histogram_quantile(0.5, bucket_counts([0.3] * 3, BUCKETS)))

    def test_a_drained_collector_saves_once_and_the_counter_goes_on(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        collector = MetricsCollector()
        collector.increment("logins_total", amount=2, at=start + timedelta(seconds=10))
        repository.save(collector.drain())
        assert collector.get_all_series() == []
        collector.increment("logins_total", amount=3, at=start + MINUTE + timedelta(seconds=10))
        repository.save(collector.drain())

        found = repository.query_time_series("logins_total", TimeRange.of(start, start + 2 * MINUTE, MINUTE))

        assert [(v.timestamp, v.value) for v in found] == [(start + MINUTE, 2.0), (start + 2 * MINUTE, 5.0)]

    def test_an_empty_collector_saves_nothing(self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository = tenant_repository(metrics_repositories)
        repository.save(MetricsCollector())
        assert repository.query_latest("anything") is None

    # -- tenancy ----------------------------------------------------------------------------------
    def test_no_query_crosses_tenants(self, metrics_repositories: MetricsRepositoryFactory) -> None:
        ours, theirs, start = tenant_repository(metrics_repositories), tenant_repository(metrics_repositories), \
            recent_minute()
        for repository, value in ((ours, 1.0), (theirs, 50.0)):
            collector = MetricsCollector()
            collector.set_gauge("balance", value, {"account": "main"}, at=start)
            collector.observe("request_seconds", value / 100, buckets=BUCKETS, at=start)
            repository.save(collector)
        window = TimeRange.of(start - MINUTE, start + MINUTE, MINUTE)

        assert [v.value for v in ours.query_time_series("balance", window)] == [1.0]
        assert ours.query_latest("balance") == 1.0
        assert theirs.query_latest("balance", {"account": "main"}) == 50.0
        assert ours.get_percentile("request_seconds", Percentile(99), window) == pytest.approx(
            histogram_quantile(0.99, bucket_counts([0.01], BUCKETS)))
        assert tenant_repository(metrics_repositories).query_latest("balance") is None
        assert metrics_repositories.system().query_latest("balance") is None

    def test_a_repository_needs_a_tenant(self, metrics_repositories: MetricsRepositoryFactory) -> None:
        with pytest.raises(TenantScopeRequired):
            metrics_repositories.for_tenant(None)
        with pytest.raises(ValidationError) as raised:
            metrics_repositories.for_tenant("not-a-tenant")
        assert raised.value.field == "tenant_id"

    # -- bad input --------------------------------------------------------------------------------
    @pytest.mark.parametrize(("name", "tags", "field"), [
        ("1st_metric", None, "metric_name"),
        ("has-dash", None, "metric_name"),
        ("", None, "metric_name"),
        ("x" * 256, None, "metric_name"),
        (42, None, "metric_name"),
        ("ok", {"bad-label": "v"}, "tags"),
        ("ok", {"__name__": "other"}, "tags"),
        ("ok", {"tenant": "someone else"}, "tags"),
        ("ok", {"le": "0.5"}, "tags"),
        ("ok", {"label": 3}, "tags"),
        ("ok", {"label": "nul\x00"}, "tags"),
        ("ok", {"label": ""}, "tags"),
        ("ok", ["label"], "tags"),
    ])
    def test_bad_names_and_tags_are_refused_by_field(self, metrics_repositories: MetricsRepositoryFactory,
                                                     name: Any, tags: Any, field: str) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        window = TimeRange.of(start, start + MINUTE, MINUTE)
        for call in (lambda: repository.query_time_series(name, window, tags),
                     lambda: repository.query_latest(name, tags),
                     lambda: repository.get_percentile(name, Percentile(50), window, tags)):
            with pytest.raises(ValidationError) as raised:
                call()
            assert raised.value.field == field

    @pytest.mark.parametrize("value", [0, 100, -5, 100.5, math.nan, "95", True])
    def test_a_percentile_outside_0_to_100_is_refused(self, metrics_repositories: MetricsRepositoryFactory,
                                                      value: Any) -> None:
        repository, start = tenant_repository(metrics_repositories), recent_minute()
        with pytest.raises(ValidationError) as raised:
            repository.get_percentile("request_seconds", value, TimeRange.of(start, start + MINUTE, MINUTE))
        assert raised.value.field == "percentile"

    @pytest.mark.parametrize(("offset", "step", "field"), [
        (timedelta(0), MINUTE, "range"),
        (-MINUTE, MINUTE, "range"),
        (MINUTE, timedelta(milliseconds=500), "step"),
        (MINUTE, timedelta(seconds=1, microseconds=1), "step"),
        (timedelta(days=30), timedelta(seconds=1), "step"),
        (MINUTE, 60, "step"),
    ])
    def test_an_empty_or_malformed_range_is_refused(self, offset: timedelta, step: Any, field: str) -> None:
        start = recent_minute()
        with pytest.raises(ValidationError) as raised:
            TimeRange.of(start, start + offset, step)
        assert raised.value.field == field

    def test_a_range_is_checked_by_every_query(self, metrics_repositories: MetricsRepositoryFactory) -> None:
        repository = tenant_repository(metrics_repositories)
        for call in (lambda: repository.query_time_series("x", "last hour"),  # type: ignore[arg-type]
                     lambda: repository.get_percentile("x", Percentile(50), None)):  # type: ignore[arg-type]
            with pytest.raises(ValidationError) as raised:
                call()
            assert raised.value.field == "range"

    def test_bad_samples_are_refused_before_anything_is_saved(
            self, metrics_repositories: MetricsRepositoryFactory) -> None:
        start = recent_minute()
        collector = MetricsCollector()
        with pytest.raises(ValidationError, match="a counter only goes up"):
            collector.increment("errors_total", amount=-1, at=start)
        with pytest.raises(ValidationError) as raised:
            collector.set_gauge("temperature", math.inf, at=start)
        assert raised.value.field == "value"
        collector.increment("errors_total", at=start)
        with pytest.raises(ValidationError) as raised:
            collector.set_gauge("errors_total", 1.0, at=start)  # a counter's name is not a gauge's
        assert raised.value.field == "name"
        with pytest.raises(ValidationError) as raised:
            collector.increment("errors_total", at=start - MINUTE)
        assert raised.value.field == "at"
        with pytest.raises(ValidationError) as raised:
            collector.observe("request_seconds", 0.1, buckets=(0.5, 0.1), at=start)
        assert raised.value.field == "buckets"
        repository = tenant_repository(metrics_repositories)
        repository.save(collector)
        assert repository.query_latest("errors_total") == 1.0
        assert repository.query_latest("temperature") is None
        with pytest.raises(ValidationError) as raised:
            repository.save({"errors_total": 1})  # type: ignore[arg-type]
        assert raised.value.field == "collector"
