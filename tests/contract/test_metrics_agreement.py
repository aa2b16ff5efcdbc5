"""The same measurements on every metrics backend give the same answers.

Observations drawn at random are written to memory, SQLite, PostgreSQL and Prometheus; for several
percentiles and windows, each backend's answer lies within the bucket that holds the exact
percentile of the observations (the interpolation error), and the four answers agree with each
other: memory and SQL interpolate with the domain's port of Prometheus' bucketQuantile, Prometheus
with its own.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from application.testing.contracts.metrics import BUCKETS, exact_percentile, recent_minute
from domain.metrics.collector import MetricsCollector
from domain.metrics.time_range import Percentile, TimeRange
from domain.shared.ids import new_id
from ports.metrics import MetricsRepositoryFactory
from tests.conftest import METRICS_BACKENDS

pytestmark = [pytest.mark.postgres, pytest.mark.prometheus]


def _bucket_around(value: float) -> tuple[float, float]:
    bounds = (0.0, *BUCKETS, math.inf)
    upper = next(bound for bound in bounds if bound >= value)
    lower = max(bound for bound in bounds if bound < upper) if upper > 0 else 0.0
    return lower, upper


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_agree_across_backends(request: pytest.FixtureRequest, seed: int) -> None:
    factories: dict[str, MetricsRepositoryFactory] = {
        name: request.getfixturevalue(f"{name}_metrics") for name in METRICS_BACKENDS}
    sampler = random.Random(seed)
    start, tenant = recent_minute(), new_id()
    collector = MetricsCollector()
    observed: list[tuple[timedelta, float]] = []
    for second in range(1, 600):
        for _ in range(sampler.randint(0, 3)):
            value = sampler.expovariate(4.0)
            collector.observe("checkout_seconds", value, {"shop": sampler.choice("ab")}, buckets=BUCKETS,
                              at=start + timedelta(seconds=second))
            observed.append((timedelta(seconds=second), value))
    for factory in factories.values():
        factory.for_tenant(tenant).save(collector)

    for begin, end in ((0, 10), (2, 6), (5, 10)):
        window = TimeRange.of(start + begin * timedelta(minutes=1), start + end * timedelta(minutes=1),
                              timedelta(minutes=1))
        inside = [value for at, value in observed if begin * 60 < at.total_seconds() <= end * 60]
        for percentile in (50, 90, 95, 99):
            answers = {name: factory.for_tenant(tenant).get_percentile("checkout_seconds", Percentile(percentile),
                                                                       window)
                       for name, factory in factories.items()}
            lower, upper = _bucket_around(exact_percentile(inside, percentile / 100))
            for name, answer in answers.items():
                assert answer is not None and lower <= answer <= upper, (name, percentile, begin, end, answer)
            reference = answers["memory"]
            assert all(answer == pytest.approx(reference, rel=1e-9) for answer in answers.values()), answers
