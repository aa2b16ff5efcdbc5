"""Queue positions and statistics through the queue state, on every backend: the same answers as the
table's, snapshots rebuilt from the table when missing, and the table alone while Redis is down."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.queue_state.memory import MemoryQueueState
from adapters.queue_state.redis import RedisQueueState
from adapters.redis.client import RedisSettings, create_redis_client
from adapters.transactions import Backend
from application.jobs.use_cases import GetJobStats, GetQueuePosition
from domain.jobs.job import JobStatus
from domain.shared.errors import NotFound
from ports.jobs import JobsUnitOfWorkFactory
from ports.queue_state import QueueState
from tests.conftest import jobs_units_on
from tests.redis_process import OwnedRedis

TENANT = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
OTHER = uuid.UUID("00000000-0000-4000-8000-0000000000d2")
LEASE = timedelta(seconds=30)


@pytest.fixture
def units(storage: Backend[Any, Any]) -> JobsUnitOfWorkFactory:
    return jobs_units_on(storage)


@pytest.fixture
def owned_redis() -> Iterator[OwnedRedis]:
    redis = OwnedRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture(params=["memory", "redis"])
def queue_state(request: pytest.FixtureRequest) -> Iterator[QueueState]:
    if request.param == "memory":
        yield MemoryQueueState()
        return
    owned: OwnedRedis = request.getfixturevalue("owned_redis")
    client = create_redis_client(RedisSettings(url=owned.url, retries=0, socket_timeout_seconds=0.5,
                                               connect_timeout_seconds=0.5))
    try:
        yield RedisQueueState(client)
    finally:
        client.close()


def _queue(units: JobsUnitOfWorkFactory, priorities: list[int], tenant: uuid.UUID = TENANT) -> list[uuid.UUID]:
    ids = []
    for priority in priorities:
        with units.for_tenant(tenant) as uow:
            ids.append(uow.jobs.create_job("export", queue_name="exports", priority=priority).id)
        time.sleep(0.002)  # distinct creation times: the claim order is by time within a priority
    return ids


def _exact(units: JobsUnitOfWorkFactory, job_id: uuid.UUID) -> int | None:
    with units.system() as uow:  # every tenant's jobs, as the workers take them
        return uow.jobs.get_queue_position(job_id)


def test_positions_from_the_snapshot_are_the_tables(units: JobsUnitOfWorkFactory, queue_state: QueueState) -> None:
    ids = _queue(units, [2, 3, 1, 3, 2]) + _queue(units, [4], tenant=OTHER)
    position = GetQueuePosition(units, queue_state, ttl=30)
    for job_id in ids[:5]:
        assert position(TENANT, job_id) == _exact(units, job_id)
    assert [position(TENANT, job_id) for job_id in ids[:5]] == [4, 2, 6, 3, 5]  # the other tenant's job is first
    with pytest.raises(NotFound):
        position(TENANT, ids[5])  # another tenant's job is a missing one
    assert position(OTHER, ids[5]) == 1


def test_a_snapshot_is_rebuilt_from_the_table_once_it_expires(units: JobsUnitOfWorkFactory,
                                                              queue_state: QueueState) -> None:
    ids = _queue(units, [2, 2, 2])
    position = GetQueuePosition(units, queue_state, ttl=0.3)
    assert position(TENANT, ids[2]) == 3
    with units.system() as uow:
        uow.jobs.claim("exports", "w1", limit=2, lease=LEASE)
    assert position(TENANT, ids[0]) is None  # no longer queued: the job itself is read each time
    assert position(TENANT, ids[2]) == 3  # the snapshot still counts the claimed ones as ahead
    time.sleep(0.4)
    assert position(TENANT, ids[2]) == 1
    late = _queue(units, [5])[0]
    assert position(TENANT, late) == 1  # queued after the snapshot: counted in the table


def test_statistics_are_answered_from_a_snapshot_and_rebuilt(units: JobsUnitOfWorkFactory,
                                                            queue_state: QueueState) -> None:
    _queue(units, [2, 2])
    stats = GetJobStats(units, queue_state, ttl=0.3)
    first = stats("exports")
    assert (first.queued, first.total, first.queue_name) == (2, 2, "exports")
    assert stats(None).queued == 2
    _queue(units, [2])
    assert stats("exports").queued == 2  # within the snapshot's life
    time.sleep(0.4)
    assert stats("exports").queued == 3
    assert stats("exports").counts == {**{status: 0 for status in JobStatus}, JobStatus.QUEUED: 3}


def test_redis_down_changes_no_answer(units: JobsUnitOfWorkFactory, owned_redis: OwnedRedis,
                                      caplog: pytest.LogCaptureFixture) -> None:
    client = create_redis_client(RedisSettings(url=owned_redis.url, retries=0, socket_timeout_seconds=0.5,
                                               connect_timeout_seconds=0.5))
    state = RedisQueueState(client)
    ids = _queue(units, [2, 3, 2])
    position, stats = GetQueuePosition(units, state, ttl=30), GetJobStats(units, state, ttl=30)
    assert [position(TENANT, job_id) for job_id in ids] == [2, 1, 3]
    owned_redis.kill()
    with units.system() as uow:
        uow.jobs.claim("exports", "w1", limit=1, lease=LEASE)
    with caplog.at_level(logging.WARNING, logger="portside.jobs"):
        assert [position(TENANT, job_id) for job_id in ids] == [1, None, 2]
        assert (stats("exports").queued, stats("exports").running) == (2, 1)
    assert sum("queue state unreachable" in record.getMessage() for record in caplog.records) == 2  # once each
    owned_redis.start()  # empty: everything is rebuilt from the table
    assert [position(TENANT, job_id) for job_id in ids] == [1, None, 2]
    assert stats("exports").running == 1
    client.close()


def test_without_a_snapshot_ttl_the_table_answers(units: JobsUnitOfWorkFactory) -> None:
    state = MemoryQueueState()
    ids = _queue(units, [2, 2])
    assert GetQueuePosition(units, state, ttl=0)(TENANT, ids[1]) == 2
    assert GetJobStats(units, state, ttl=0)("exports").queued == 2
    assert state.stats("exports") is None and not state.rank("exports", ids[1]).taken
