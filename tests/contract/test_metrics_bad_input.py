"""Hostile names and label values on every metrics backend: any text is either refused with a
`ValidationError` naming its field before any I/O, or stored and found again as exactly that text
(PromQL escaping, JSON in SQL), never another error and never another series."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.testing.contracts.metrics import recent_minute
from domain.metrics.collector import MetricsCollector
from domain.metrics.time_range import TimeRange
from domain.shared.errors import ValidationError
from domain.shared.ids import new_id
from ports.metrics import MetricsRepositoryFactory
from tests.conftest import METRICS_BACKENDS, backend_param

HOSTILE = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ['"', "\\", '\\"', "\n", '"} or up{tenant="x', "{}", "ä€😀", " ", "", "a" * 1025, "\x00"])


@pytest.fixture(params=[backend_param(name) for name in METRICS_BACKENDS])
def metrics_repositories(request: pytest.FixtureRequest) -> MetricsRepositoryFactory:
    factory: MetricsRepositoryFactory = request.getfixturevalue(f"{request.param}_metrics")
    return factory


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=HOSTILE)
def test_any_label_value_is_refused_or_found_again_exactly(metrics_repositories: MetricsRepositoryFactory,
                                                           value: str) -> None:
    repository, start = metrics_repositories.for_tenant(new_id()), recent_minute()
    collector = MetricsCollector()
    try:
        collector.set_gauge("hostile", 1.0, {"text": value}, at=start)
    except ValidationError as error:
        assert error.field == "tags"
        return
    collector.set_gauge("hostile", 2.0, {"text": value + "x"}, at=start)
    repository.save(collector)
    found = repository.query_time_series("hostile", TimeRange.of(start, start + timedelta(minutes=1)),
                                         {"text": value})
    assert [(item.tags, item.value) for item in found] == [({"text": value}, 1.0)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=HOSTILE)
def test_any_metric_name_is_refused_or_queried(metrics_repositories: MetricsRepositoryFactory, name: str) -> None:
    repository = metrics_repositories.for_tenant(new_id())
    try:
        assert repository.query_latest(name) is None
    except ValidationError as error:
        assert error.field == "metric_name"
