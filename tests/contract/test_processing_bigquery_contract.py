"""The processing contract on BigQuery: the abstract `ProcessingContract` bound to the BigQuery unit of
work, a fresh dataset per test on the session's emulator; and what only BigQuery shows (the commit
protocol's row versions, the repositories it does not store)."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterator

import pytest

from adapters.bigquery.client import BigQuerySettings, create_bigquery_client
from adapters.bigquery.schema import drop_schema, ensure_schema
from adapters.bigquery.unit_of_work import BigQueryDatabase, BigQueryUnitOfWorkFactory
from application.testing.contracts.processing import ProcessingContract, World, seed_world, submit
from domain.processing.execution import ExecutionStatus
from domain.shared.errors import ConcurrencyConflict, Conflict, UnitOfWorkInactive, Unsupported
from ports.unit_of_work import UnitOfWorkFactory
from tests.servers import BigQueryEmulator

pytestmark = pytest.mark.bigquery


@pytest.fixture
def bigquery_database(bigquery_emulator: BigQueryEmulator) -> Iterator[BigQueryDatabase]:
    """The processing schema in a dataset of its own, dropped afterwards."""
    settings = BigQuerySettings(project=bigquery_emulator.project, dataset=f"processing_{uuid.uuid4().hex[:12]}",
                                endpoint=bigquery_emulator.endpoint)
    client = create_bigquery_client(settings)
    ensure_schema(client, settings)
    yield BigQueryDatabase(client, settings)
    drop_schema(client, settings)
    client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def uow_factory(bigquery_database: BigQueryDatabase) -> UnitOfWorkFactory:
    return BigQueryUnitOfWorkFactory(bigquery_database)


class TestProcessingOnBigQuery(ProcessingContract):
    pass


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory) -> World:
    return seed_world(uow_factory)


def _versions(database: BigQueryDatabase, table: str, record: uuid.UUID) -> list[tuple[int, bool, bool]]:
    """(row_version, deleted, committed) of every stored row of a record, oldest first."""
    from google.cloud import bigquery

    settings = database.settings
    job = database.client.query(
        f"SELECT t.row_version, t.deleted, c.committed_at IS NOT NULL AS committed "
        f"FROM `{settings.project}.{settings.dataset}.{table}` AS t "
        f"JOIN `{settings.project}.{settings.dataset}.processing_commits` AS c USING (commit_id) "
        f"WHERE t.id = @id ORDER BY t.row_version, committed",
        job_config=bigquery.QueryJobConfig(query_parameters=[bigquery.ScalarQueryParameter("id", "STRING",
                                                                                           str(record))]))
    return [(row["row_version"], row["deleted"], row["committed"]) for row in job.result()]


def test_changes_append_row_versions_and_a_refused_commit_stays_invisible(
    uow_factory: UnitOfWorkFactory, bigquery_database: BigQueryDatabase
) -> None:
    world = seed_world(uow_factory)
    with uow_factory.for_tenant(world.acme) as uow:
        created = submit(uow, world.bank_up, {"n": 1})
    with uow_factory.for_tenant(world.acme) as uow:
        uow.executions.update_execution_status(created.id, ExecutionStatus.RUNNING)
    stale = created.start(created.created_at)  # based on version 1, which is gone
    with pytest.raises(ConcurrencyConflict), uow_factory.for_tenant(world.acme) as uow:
        uow.executions.update(stale)
    with uow_factory.for_tenant(world.acme) as uow:
        uow.executions.delete(created.id)
    assert _versions(bigquery_database, "processor_executions", created.id) == [
        (1, False, True), (2, False, True), (3, True, True)]
    with uow_factory.for_tenant(world.acme) as uow:
        assert uow.executions.get_by_id(created.id) is None and uow.executions.count() == 0
        again = uow.executions.create(created)  # a deleted id may be created again
    with uow_factory.for_tenant(world.acme) as uow:
        assert uow.executions.get_by_id_or_raise(created.id) == again
    assert _versions(bigquery_database, "processor_executions", created.id)[-1] == (4, False, True)


def _elsewhere(action: Callable[[], None]) -> None:
    """Run `action` in a context with no active unit of work, as another thread or task would: a unit
    of work opened there is a transaction of its own instead of a savepoint of the caller's."""
    contextvars.Context().run(action)


def test_a_commit_racing_on_a_stale_version_is_refused_whole(uow_factory: UnitOfWorkFactory, world: World) -> None:
    """Both units of work read version 1; the second to commit loses every write, not just the stale one."""
    with uow_factory.for_tenant(world.acme) as uow:
        execution = submit(uow, world.bank_up, {"n": 1})
    first = uow_factory.for_tenant(world.acme)

    def second() -> None:
        with uow_factory.for_tenant(world.acme) as uow:
            uow.executions.deactivate_execution(execution.id)
            uow.processors.update_current_executions_list(world.bank_up.id, [execution.id])
            first.commit()  # `first` publishes while this one is still open

    with first:
        first.executions.update_execution_status(execution.id, ExecutionStatus.RUNNING)
        with pytest.raises(ConcurrencyConflict):
            _elsewhere(second)
    with uow_factory.for_tenant(world.acme) as uow:
        stored = uow.executions.get_by_id_or_raise(execution.id)
        assert (stored.status, stored.enabled, stored.version) == (ExecutionStatus.RUNNING, True, 2)
        up = uow.processors.get_underwriting_processor_by_id(world.bank_up.id)
        assert up is not None and up.current_executions_list == [] and up.version == 1


def test_a_duplicate_published_meanwhile_refuses_the_commit(uow_factory: UnitOfWorkFactory, world: World) -> None:
    payload = {"documents": ["raced"]}
    first = uow_factory.for_tenant(world.acme)

    def second() -> None:
        with uow_factory.for_tenant(world.acme) as uow:
            submit(uow, world.bank_up, payload)  # nothing visible yet: buffered
            first.commit()

    with first:
        winner = submit(first, world.bank_up, payload)
        with pytest.raises(Conflict, match="live_payload"):
            _elsewhere(second)
    with uow_factory.for_tenant(world.acme) as uow:
        assert [e.id for e in uow.executions.list_by_cursor().items] == [winner.id]


def test_a_write_follows_the_newest_read_of_a_record(uow_factory: UnitOfWorkFactory, world: World) -> None:
    """Read by id, changed by another unit of work, read again through a listing, then written: the
    write is based on the newest read, not refused for the first one."""
    with uow_factory.for_tenant(world.acme) as uow:
        execution = submit(uow, world.bank_up, {"n": 1})

    def elsewhere() -> None:
        with uow_factory.for_tenant(world.acme) as other:
            other.executions.update_execution_status(execution.id, ExecutionStatus.RUNNING)

    with uow_factory.for_tenant(world.acme) as uow:
        assert uow.executions.get_by_id_or_raise(execution.id).version == 1
        _elsewhere(elsewhere)
        [running] = uow.executions.get_executions_by_underwriting(world.underwriting)
        assert running.version == 2
        uow.executions.update(running.deactivate(running.updated_at))
    with uow_factory.for_tenant(world.acme) as uow:
        stored = uow.executions.get_by_id_or_raise(execution.id)
        assert (stored.status, stored.enabled, stored.version) == (ExecutionStatus.RUNNING, False, 3)


def test_only_the_processing_repositories_exist(uow_factory: UnitOfWorkFactory, world: World) -> None:
    uow = uow_factory.for_tenant(world.acme)
    with uow:
        for name in ("tenants", "workflows", "vendors", "events", "incidents", "decisions", "actions",
                     "kill_switches"):
            with pytest.raises(Unsupported, match=name):
                getattr(uow, name).count()
        assert uow.executions.count() == 0
    with pytest.raises(UnitOfWorkInactive):
        uow.events.count()
