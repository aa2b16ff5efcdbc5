"""The processing contract on BigQuery: the abstract `ProcessingContract` bound to the processing units
of work on the BigQuery backend, a fresh dataset per test on the session's emulator; and what only
BigQuery shows (the commit protocol's row versions, the contexts it does not store)."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable

import pytest

from adapters.bigquery.backend import BigQueryBackend
from adapters.bigquery.database import BigQueryDatabase
from adapters.bigquery.querying import Parameters, Result
from adapters.rules.processing import processing_units
from adapters.rules.reliability import reliability_units
from adapters.rules.tenancy import tenancy_units
from application.testing.contracts.processing import ProcessingContract, World, seed_world, submit
from domain.processing.execution import ExecutionStatus
from domain.shared.errors import (
    ConcurrencyConflict,
    Conflict,
    TenantScopeRequired,
    UnitOfWorkInactive,
    Unsupported,
)
from ports.processing import ProcessingUnitOfWork, ProcessingUnitOfWorkFactory

pytestmark = pytest.mark.bigquery


@pytest.fixture
def processing_uow(bigquery_database: BigQueryDatabase) -> ProcessingUnitOfWorkFactory:
    return processing_units(BigQueryBackend(bigquery_database))


class TestProcessingOnBigQuery(ProcessingContract):
    # The emulator runs one job at a time: a round of 16 racing appends, each retried until it wins,
    # is a few hundred jobs. One round shows the property; ten would cost minutes of CI.
    APPEND_RACE_ROUNDS = 1


@pytest.fixture
def world(processing_uow: ProcessingUnitOfWorkFactory) -> World:
    return seed_world(processing_uow)


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
    processing_uow: ProcessingUnitOfWorkFactory, bigquery_database: BigQueryDatabase
) -> None:
    world = seed_world(processing_uow)
    with processing_uow.for_tenant(world.acme) as uow:
        created = submit(uow, world.bank_up, {"n": 1})
    with processing_uow.for_tenant(world.acme) as uow:
        uow.executions.update_execution_status(created.id, ExecutionStatus.RUNNING)
    stale = created.start(created.created_at)  # based on version 1, which is gone
    with pytest.raises(ConcurrencyConflict), processing_uow.for_tenant(world.acme) as uow:
        uow.executions.update(stale)
    with processing_uow.for_tenant(world.acme) as uow:
        uow.executions.delete(created.id)
    assert _versions(bigquery_database, "processor_executions", created.id) == [
        (1, False, True), (2, False, True), (3, True, True)]
    with processing_uow.for_tenant(world.acme) as uow:
        assert uow.executions.get_by_id(created.id) is None and uow.executions.count() == 0
        again = uow.executions.create(created)  # a deleted id may be created again
    with processing_uow.for_tenant(world.acme) as uow:
        assert uow.executions.get_by_id_or_raise(created.id) == again
    assert _versions(bigquery_database, "processor_executions", created.id)[-1] == (4, False, True)


def _elsewhere(action: Callable[[], None]) -> None:
    """Run `action` in a context with no active unit of work, as another thread or task would: a unit
    of work opened there is a transaction of its own instead of a savepoint of the caller's."""
    contextvars.Context().run(action)


def test_a_commit_racing_on_a_stale_version_is_refused_whole(
    processing_uow: ProcessingUnitOfWorkFactory, world: World
) -> None:
    """Both units of work read version 1; the second to commit loses every write, not just the stale one."""
    with processing_uow.for_tenant(world.acme) as uow:
        execution = submit(uow, world.bank_up, {"n": 1})
    first = processing_uow.for_tenant(world.acme)

    def second() -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            uow.executions.deactivate_execution(execution.id)
            uow.processors.update_current_executions_list(world.bank_up.id, [execution.id])
            first.commit()  # `first` publishes while this one is still open

    with first:
        first.executions.update_execution_status(execution.id, ExecutionStatus.RUNNING)
        with pytest.raises(ConcurrencyConflict):
            _elsewhere(second)
    with processing_uow.for_tenant(world.acme) as uow:
        stored = uow.executions.get_by_id_or_raise(execution.id)
        assert (stored.status, stored.enabled, stored.version) == (ExecutionStatus.RUNNING, True, 2)
        up = uow.processors.get_underwriting_processor_by_id(world.bank_up.id)
        assert up is not None and up.current_executions_list == [] and up.version == 1


def test_a_duplicate_published_meanwhile_refuses_the_commit(
    processing_uow: ProcessingUnitOfWorkFactory, world: World
) -> None:
    payload = {"documents": ["raced"]}
    first = processing_uow.for_tenant(world.acme)

    def second() -> None:
        with processing_uow.for_tenant(world.acme) as uow:
            submit(uow, world.bank_up, payload)  # nothing visible yet: buffered
            first.commit()

    with first:
        winner = submit(first, world.bank_up, payload)
        with pytest.raises(Conflict, match="live_payload"):
            _elsewhere(second)
    with processing_uow.for_tenant(world.acme) as uow:
        assert [e.id for e in uow.executions.list_by_cursor().items] == [winner.id]


def test_a_write_follows_the_newest_read_of_a_record(processing_uow: ProcessingUnitOfWorkFactory, world: World) -> None:
    """Read by id, changed by another unit of work, read again through a listing, then written: the
    write is based on the newest read, not refused for the first one."""
    with processing_uow.for_tenant(world.acme) as uow:
        execution = submit(uow, world.bank_up, {"n": 1})

    def elsewhere() -> None:
        with processing_uow.for_tenant(world.acme) as other:
            other.executions.update_execution_status(execution.id, ExecutionStatus.RUNNING)

    with processing_uow.for_tenant(world.acme) as uow:
        assert uow.executions.get_by_id_or_raise(execution.id).version == 1
        _elsewhere(elsewhere)
        [running] = uow.executions.get_executions_by_underwriting(world.underwriting)
        assert running.version == 2
        uow.executions.update(running.deactivate(running.updated_at))
    with processing_uow.for_tenant(world.acme) as uow:
        stored = uow.executions.get_by_id_or_raise(execution.id)
        assert (stored.status, stored.enabled, stored.version) == (ExecutionStatus.RUNNING, False, 3)


@pytest.mark.parametrize(("context", "build", "table"), [
    ("tenancy", tenancy_units, "tenants"),
    ("reliability", reliability_units, "events"),
], ids=["tenancy", "reliability"])
def test_other_contexts_are_refused_when_their_factory_is_built(
    bigquery_database: BigQueryDatabase, context: str, build: Callable[[BigQueryBackend], object], table: str
) -> None:
    """BigQuery stores the processing tables only: a container wiring another context to it fails at
    build time, naming the tables it lacks, not at the first call."""
    with pytest.raises(Unsupported, match=rf"the bigquery backend cannot serve the {context} context: "
                                          rf"it does not store .*\b{table}\b"):
        build(BigQueryBackend(bigquery_database))


def test_a_repository_kept_after_its_block_is_inactive(processing_uow: ProcessingUnitOfWorkFactory,
                                                       world: World) -> None:
    with processing_uow.for_tenant(world.acme) as uow:
        executions = uow.executions
        assert executions.count() == 0
    with pytest.raises(UnitOfWorkInactive):
        executions.count()
    with pytest.raises(UnitOfWorkInactive):
        uow.executions.count()


def test_the_system_scope_is_refused_before_any_read(processing_uow: ProcessingUnitOfWorkFactory,
                                                     bigquery_database: BigQueryDatabase, world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The processing tables are tenant-scoped: from system scope every repository method raises
    `TenantScopeRequired`, and no statement is sent."""
    sent: list[str] = []
    run = bigquery_database.runner.run

    def recording(sql: str, params: Parameters) -> Result:
        sent.append(sql)
        return run(sql, params)

    monkeypatch.setattr(bigquery_database.runner, "run", recording)
    reads: list[Callable[[ProcessingUnitOfWork], object]] = [
        lambda uow: uow.executions.count(),
        lambda uow: uow.executions.get_by_id(world.bank_up.id),
        lambda uow: uow.executions.get_active_executions(world.bank_up.id),
        lambda uow: uow.executions.get_execution_chain(world.bank_up.id),
        lambda uow: uow.processors.purchased.list_by_cursor(),
    ]
    with processing_uow.system() as uow:
        for read in reads:
            with pytest.raises(TenantScopeRequired):
                read(uow)
    assert sent == []
