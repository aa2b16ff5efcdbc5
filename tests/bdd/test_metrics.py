"""Steps of features/metrics/*.feature: series over a range, latest values, percentiles, on the
in-memory container's metrics repository."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from domain.metrics.collector import MetricsCollector
from domain.metrics.series import TimestampedValue
from domain.metrics.time_range import Percentile, TimeRange
from domain.shared.ids import new_id
from ports.metrics import MetricsRepository
from tests.bdd.world import World, table_rows

scenarios("metrics/time_series.feature", "metrics/latest.feature", "metrics/percentiles.feature")

MINUTE = timedelta(minutes=1)


@dataclass
class Measurements:
    """Each tenant's repository and the collector its work records into; the last answer."""

    repositories: dict[str, MetricsRepository] = field(default_factory=dict)
    collectors: dict[str, MetricsCollector] = field(default_factory=dict)
    buckets: tuple[float, ...] = ()
    series: list[TimestampedValue] | None = None
    value: float | None = None


@pytest.fixture
def measurements() -> Measurements:
    return Measurements()


def _at(world: World, clock_time: str) -> datetime:
    """`09:00:30` on the scenario's day."""
    return datetime.combine(world.clock.now().date(), time.fromisoformat(clock_time), world.clock.now().tzinfo)


def _record(measurements: Measurements, tenant: str, record: Any) -> None:
    collector = measurements.collectors[tenant]
    record(collector)
    measurements.repositories[tenant].save(collector.drain())


@given(parsers.parse('the tenant "{tenant}" measures its work'))
def given_a_tenant(world: World, measurements: Measurements, tenant: str) -> None:
    measurements.repositories[tenant] = world.container.metrics_repository().for_tenant(new_id())
    measurements.collectors[tenant] = MetricsCollector()


@given(parsers.parse('"{tenant}" counts jobs done on the queue "{queue}" at these times:'))
def given_jobs_done(world: World, measurements: Measurements, tenant: str, queue: str,
                    datatable: list[list[str]]) -> None:
    def record(collector: MetricsCollector) -> None:
        for row in table_rows(datatable):
            collector.increment("jobs_done_total", {"queue": queue}, float(row["jobs"]), at=_at(world, row["at"]))

    _record(measurements, tenant, record)


@given(parsers.parse('"{tenant}" sets the depth of the queue "{queue}" to {depth:d} at {at}'))
def given_queue_depth(world: World, measurements: Measurements, tenant: str, queue: str, depth: int, at: str) -> None:
    _record(measurements, tenant, lambda collector: collector.set_gauge(
        "queue_depth", depth, {"queue": queue}, at=_at(world, at)))


@given(parsers.re(r"request latencies are counted in buckets of (?P<bounds>[\d., and]+) seconds"))
def given_buckets(measurements: Measurements, bounds: str) -> None:
    measurements.buckets = tuple(float(bound) for bound in bounds.replace(" and ", ", ").split(", "))


@given(parsers.parse('"{tenant}" observes these request latencies between {start} and {end}:'))
def given_latencies(world: World, measurements: Measurements, tenant: str, start: str, end: str,
                    datatable: list[list[str]]) -> None:
    observations = [float(row["seconds"]) for row in table_rows(datatable) for _ in range(int(row["requests"]))]
    first, last = _at(world, start), _at(world, end)
    spacing = (last - first) / len(observations)

    def record(collector: MetricsCollector) -> None:
        for index, seconds in enumerate(observations, start=1):  # spread over (start, end]
            collector.observe("request_seconds", seconds, buckets=measurements.buckets, at=first + index * spacing)

    _record(measurements, tenant, record)


@when(parsers.re(r'"(?P<tenant>[^"]+)" asks for "(?P<name>[^"]+)"(?: with (?P<label>\w+) "(?P<value>[^"]+)")? '
                 r"from (?P<start>[\d:]+) to (?P<end>[\d:]+) every minute"))
def when_series(world: World, measurements: Measurements, tenant: str, name: str, label: str | None,
                value: str | None, start: str, end: str) -> None:
    tags = {label: value} if label and value else None
    measurements.series = world.attempt(lambda: measurements.repositories[tenant].query_time_series(
        name, TimeRange.of(_at(world, start), _at(world, end), MINUTE), tags))


@when(parsers.re(r'"(?P<tenant>[^"]+)" asks for the latest "(?P<name>[^"]+)"(?: of the queue "(?P<queue>[^"]+)")?$'))
def when_latest(world: World, measurements: Measurements, tenant: str, name: str, queue: str | None) -> None:
    measurements.value = world.attempt(lambda: measurements.repositories[tenant].query_latest(
        name, {"queue": queue} if queue else None))


@when(parsers.parse('"{tenant}" asks for the p{percentile:g} of "{name}" from {start} to {end}'))
def when_percentile(world: World, measurements: Measurements, tenant: str, percentile: float, name: str,
                    start: str, end: str) -> None:
    measurements.value = world.attempt(lambda: measurements.repositories[tenant].get_percentile(
        name, Percentile.of(percentile), TimeRange.of(_at(world, start), _at(world, end), MINUTE)))


@then("the series is:")
def then_series(world: World, measurements: Measurements, datatable: list[list[str]]) -> None:
    world.succeeded()
    assert measurements.series is not None
    assert [(value.timestamp, value.value) for value in measurements.series] == [
        (_at(world, row["at"]), float(row["value"])) for row in table_rows(datatable)]


@then("the series is empty")
def then_series_empty(world: World, measurements: Measurements) -> None:
    world.succeeded()
    assert measurements.series == []


@then(parsers.parse("the latest value is {value:g}"))
@then(parsers.parse("the percentile is {value:g}"))
def then_value(world: World, measurements: Measurements, value: float) -> None:
    world.succeeded()
    assert measurements.value == pytest.approx(value)


@then("there is no latest value")
@then("there is no percentile")
def then_no_value(world: World, measurements: Measurements) -> None:
    world.succeeded()
    assert measurements.value is None
