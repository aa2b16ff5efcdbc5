"""Job records cache-aside (`get_job`): served from the tenant's cache, dropped after every commit
that wrote the job (a worker's claim and completion included), never by a rolled-back write."""

from __future__ import annotations

import uuid

import pytest

from application.container import Container, build_container
from application.jobs.use_cases import NewJob
from application.settings import Settings
from domain.jobs.job import JobStatus
from tests.servers import PostgresServer

TENANT = uuid.UUID("00000000-0000-4000-8000-0000000000e1")


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def container(request: pytest.FixtureRequest) -> Container:
    if request.param == "memory":
        built = build_container(Settings(database_url="memory://"))
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        request.getfixturevalue("postgres_storage")  # an empty, migrated database
        built = build_container(Settings(database_url=server.app_url))
    request.addfinalizer(built.shutdown_resources)
    return built


def _stats(container: Container) -> tuple[int, int]:
    stats = container.cache().for_tenant(TENANT).get_stats()
    return stats.hits, stats.misses


def test_get_job_serves_from_the_cache_until_a_commit_writes_the_job(container: Container) -> None:
    job = container.enqueue_job()(TENANT, NewJob.parse(job_type="report"))
    get_job = container.get_job()
    assert get_job(TENANT, job.id) == job
    assert get_job(TENANT, job.id) == job
    assert _stats(container) == (1, 1)
    with container.jobs_unit_of_work().system() as uow:  # a worker's claim drops it
        [claimed] = uow.jobs.claim("default", "w1")
    assert get_job(TENANT, job.id).status is JobStatus.RUNNING  # type: ignore[union-attr]
    with pytest.raises(RuntimeError), container.jobs_unit_of_work().system() as uow:
        uow.jobs.complete(job.id, "w1", claimed.attempt)
        raise RuntimeError("rolled back")
    assert get_job(TENANT, job.id).status is JobStatus.RUNNING  # type: ignore[union-attr]
    hits, _ = _stats(container)
    assert hits == 2  # the rolled-back completion did not drop the entry
    with container.jobs_unit_of_work().system() as uow:
        uow.jobs.complete(job.id, "w1", claimed.attempt)
    assert get_job(TENANT, job.id).status is JobStatus.COMPLETED  # type: ignore[union-attr]
    assert get_job(uuid.uuid4(), job.id) is None  # another tenant: not found, from its own cache
