"""The processing contract on memory, SQLite and PostgreSQL (the `backend` fixture's parameter),
and what only SQL can show: the two one-statement queries, the bulk path, the schema's walls."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.sql.backend import SqlBackend
from adapters.sql.bulk import BATCH_SIZE
from adapters.sql.database import SqlDatabase
from application.testing.contracts.processing import (
    TRICKY_REVISIONS,
    ProcessingContract,
    World,
    complete,
    new_execution,
    seed_world,
    submit,
)
from ports.processing import ProcessingUnitOfWorkFactory
from tests.conftest import SQL_BACKENDS, copying_from, on_each_postgres_driver, processing_units_on

PROCESSING_TABLES = ("purchased_processors", "underwriting_processors", "processor_executions")


class TestProcessing(ProcessingContract):
    pass


@contextmanager
def recorded_statements(database: SqlDatabase) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", record)


def _chain_and_list(processing_uow: ProcessingUnitOfWorkFactory, world: World) -> list[uuid.UUID]:
    with processing_uow.for_tenant(world.acme) as uow:
        runs = [complete(uow, submit(uow, world.bank_up, {"run": i}, i), {"run": i}, i) for i in range(6)]
        for older, newer in itertools.pairwise(runs[:4]):
            uow.executions.mark_execution_superseded(older.id, newer.id)
        uow.processors.update_current_executions_list(world.bank_up.id, [r.id for r in reversed(runs[3:])])
    return [run.id for run in runs]


@pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)
def test_active_executions_and_chains_are_one_statement_each(
    processing_uow: ProcessingUnitOfWorkFactory, backend: str, request: pytest.FixtureRequest
) -> None:
    database: SqlDatabase = request.getfixturevalue(f"{backend}_database")
    world = seed_world(processing_uow)
    runs = _chain_and_list(processing_uow, world)
    with processing_uow.for_tenant(world.acme) as uow:
        with recorded_statements(database) as statements:
            active = uow.executions.get_active_executions(world.bank_up.id)
        assert [e.id for e in active] == [runs[5], runs[4], runs[3]] and len(statements) == 1
        with recorded_statements(database) as statements:
            chain = uow.executions.get_execution_chain(runs[1])
        assert [e.id for e in chain] == runs[:4] and len(statements) == 1


@pytest.mark.postgres
@on_each_postgres_driver
def test_bulk_create_of_executions_below_the_copy_threshold_sends_one_insert_per_batch(
    postgres_storage: SqlBackend, multi_row_inserts: list[str]
) -> None:
    postgres_uow = processing_units_on(copying_from(postgres_storage, BATCH_SIZE + 2))
    world = seed_world(postgres_uow)
    multi_row_inserts.clear()  # the seeding's own
    batch = [new_execution(world.bank_up, {"n": i}, document_revision_ids=TRICKY_REVISIONS)
             for i in range(BATCH_SIZE + 1)]
    with recorded_statements(postgres_storage.database) as statements, postgres_uow.for_tenant(world.acme) as uow:
        uow.executions.bulk_create(batch)
    assert len(multi_row_inserts) == 2
    assert not [s for s in statements if s.lstrip().upper().startswith("INSERT")]  # no row went another way
    with postgres_uow.for_tenant(world.acme) as uow:
        assert uow.executions.get_by_id_or_raise(batch[-1].id) == batch[-1]  # TEXT[] quoting held


@pytest.mark.postgres
def test_every_processing_table_is_confined_by_row_level_security(postgres_admin_engine: sa.Engine) -> None:
    with postgres_admin_engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, count(p.polname) "
            "FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relname = ANY(:names) GROUP BY 1, 2, 3"), {"names": list(PROCESSING_TABLES)}).all()
    assert {name: (enabled, forced, policies) for name, enabled, forced, policies in rows} == {
        name: (True, True, 1) for name in PROCESSING_TABLES
    }


@pytest.mark.postgres
def test_raw_sql_of_one_organization_sees_none_of_anothers_rows(postgres_storage: SqlBackend) -> None:
    postgres_uow = processing_units_on(postgres_storage)
    world = seed_world(postgres_uow)
    with postgres_uow.for_tenant(world.globex) as uow:
        submit(uow, world.their_up, {"n": 1})
    with postgres_uow.for_tenant(world.acme) as uow:
        submit(uow, world.bank_up, {"n": 1})
        connection: sa.Connection = uow.executions.store.connection  # type: ignore[attr-defined]
        for table in PROCESSING_TABLES:  # no WHERE: only the policy filters
            seen = connection.execute(sa.text(f"SELECT DISTINCT organization_id FROM {table}")).scalars().all()
            assert seen == [world.acme], table


@pytest.mark.postgres
def test_the_column_types_are_the_specs(postgres_admin_engine: sa.Engine, postgres_database: SqlDatabase) -> None:
    with postgres_admin_engine.connect() as connection:
        types: dict[str, str] = dict(connection.execute(sa.text(
            "SELECT table_name || '.' || column_name, udt_name FROM information_schema.columns "
            "WHERE table_name = ANY(:names)"), {"names": list(PROCESSING_TABLES)}).all())
    assert types["underwriting_processors.current_executions_list"] == "_uuid"
    assert types["processor_executions.document_revision_ids"] == "_text"
    assert types["processor_executions.payload"] == "jsonb"
    assert types["purchased_processors.config"] == "jsonb"
    assert types["processor_executions.id"] == "uuid"
    assert types["purchased_processors.price_amount"] == "int8"
