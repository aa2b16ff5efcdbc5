"""The bad-input contract on memory, SQLite and PostgreSQL (the conftest's per-context factories over
the `backend` parameter) and its processing part on BigQuery; then the NULL ordering of the statement
builders (`adapters/sql/ordering.py`, `adapters/bigquery/querying.py`) run on the real engines and
compared with the memory adapter's rule, NULL lowest, for ORDER BY and for every keyset position."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adapters.bigquery.backend import BigQueryBackend
from adapters.bigquery.database import BigQueryDatabase
from adapters.bigquery.querying import Parameters, current_sql, keyset_sql, order_sql
from adapters.bigquery.schema import EXECUTIONS_TABLE
from adapters.memory import querying
from adapters.rules.processing import processing_units
from adapters.sql.ordering import keyset_after, order_by_clauses
from application.testing.contracts.bad_input import BadInputContract, ProcessingBadInputContract
from application.testing.contracts.bad_input_probes import T0
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.hashing import payload_hash
from domain.shared.entity import Entity
from domain.shared.sorting import Sort
from ports.processing import ProcessingUnitOfWorkFactory


class TestBadInput(BadInputContract):
    pass


@pytest.mark.bigquery
class TestProcessingBadInputOnBigQuery(ProcessingBadInputContract):
    @pytest.fixture
    def processing_uow(self, bigquery_database: BigQueryDatabase) -> ProcessingUnitOfWorkFactory:
        return processing_units(BigQueryBackend(bigquery_database))


# -- NULL ordering on the engines themselves ------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Row:
    id: uuid.UUID
    n: int | None
    t: str | None
    b: bool
    k: int


SQL_SORTS = ["n", "-n", "t", "-t", "n,-t", "-n,t", "t,b", "-b,-n", "k,n", "-t,-k"]


def _rows(count: int = 36) -> list[Row]:
    pick = random.Random(7)
    return [Row(uuid.UUID(int=pick.getrandbits(128)), pick.choice([None, -1, 0, 2**40]),
                pick.choice([None, "a", "B", "\u00e9", ""]), pick.random() < 0.5, pick.randrange(3))
            for _ in range(count)]


def _ordered(rows: list[Row], sort: Sort) -> list[Row]:
    """The memory adapter's order, which the engines must reproduce."""
    return cast(list[Row], querying.order(cast(list[Entity], list(rows)), sort))


def _probe_table(dialect: str) -> sa.Table:
    text = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")  # byte order, as Portside's tables
    return sa.Table(
        "null_ordering_probe", sa.MetaData(), sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=True), sa.Column("t", text, nullable=True),
        sa.Column("b", sa.Boolean(), nullable=False), sa.Column("k", sa.Integer(), nullable=False),
        prefixes=["TEMPORARY"] if dialect == "postgresql" else [],
    )


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.sqlite),
                        pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("psycopg", marks=[pytest.mark.postgres, pytest.mark.psycopg])])
def sql_connection(request: pytest.FixtureRequest) -> Iterator[sa.Connection]:
    """A connection to SQLite or PostgreSQL, rolled back afterwards (the table is temporary)."""
    if request.param == "sqlite":
        engine = sa.create_engine("sqlite://")
    else:
        engine = request.getfixturevalue(f"{request.param}_admin_engine")
    with engine.connect() as connection, connection.begin() as transaction:
        yield connection
        transaction.rollback()
    if request.param == "sqlite":
        engine.dispose()


def test_sql_orders_and_pages_with_null_lowest_as_memory_does(sql_connection: sa.Connection) -> None:
    table = _probe_table(sql_connection.dialect.name)
    table.create(sql_connection)
    rows = _rows()
    sql_connection.execute(table.insert(), [_as_dict(row) for row in rows])
    for text in SQL_SORTS:
        sort = Sort.parse(f"{text},id")
        expected = _ordered(rows, sort)
        ordered = sa.select(table.c.id).order_by(*order_by_clauses(table, sort))
        assert list(sql_connection.scalars(ordered)) == [row.id for row in expected], text
        for index, anchor in enumerate(expected):
            position = [getattr(anchor, item.field) for item in sort.fields]
            after = list(sql_connection.scalars(ordered.where(keyset_after(table, sort, position))))
            assert after == [row.id for row in expected[index + 1:]], (text, position)
            in_memory = [row.id for row in expected if querying.after(cast(Entity, row), sort, position)]
            assert in_memory == after, (text, position)


def test_sql_emits_nulls_first_last_only_on_nullable_columns() -> None:
    table = _probe_table("postgresql")
    statement = sa.select(table.c.id).order_by(*order_by_clauses(table, Sort.parse("n,-t,k,-b,id")))
    sql = str(statement.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert "n ASC NULLS FIRST" in sql and "t DESC NULLS LAST" in sql
    assert "k ASC," in sql and "b DESC," in sql and sql.rstrip().endswith("id ASC")


def _as_dict(row: Row) -> dict[str, Any]:
    return {"id": row.id, "n": row.n, "t": row.t, "b": row.b, "k": row.k}


@pytest.mark.bigquery
def test_bigquery_orders_and_pages_with_null_lowest_as_memory_does(bigquery_database: BigQueryDatabase) -> None:
    """On the nullable columns of executions (not sortable through the port, but the builders take
    any column): the statements the BigQuery adapter sends agree with the memory rule."""
    org, up, pick = uuid.uuid4(), uuid.uuid4(), random.Random(11)
    executions = []
    for index in range(10):
        started = pick.choice([None, T0, T0 + timedelta(minutes=1)])
        code = pick.choice([None, "a", "B"])
        cost = pick.choice([None, 0, 5])
        payload = {"n": index}
        executions.append(Execution.new(
            organization_id=org, underwriting_id=up, underwriting_processor_id=up, processor="p_bank_statement",
            status=ExecutionStatus.FAILED, payload=payload, payload_hash=payload_hash(payload), started_at=started,
            failed_code=code, run_cost_cents=cost, created_at=T0, updated_at=T0))
    with processing_units(BigQueryBackend(bigquery_database)).for_tenant(org) as uow:
        uow.executions.bulk_create(executions)
    runner = bigquery_database.runner
    for text in ("started_at", "-started_at", "failed_code,-run_cost_cents", "-failed_code,started_at"):
        sort = Sort.parse(f"{text},id")
        expected = cast(list[Execution], querying.order(cast(list[Entity], list(executions)), sort))

        def ids(position: list[Any] | None, sort: Sort = sort) -> list[uuid.UUID]:
            params = Parameters()
            where = "NOT r.deleted"
            current = current_sql(bigquery_database.settings, EXECUTIONS_TABLE, params, org)
            if position is not None:
                where += " AND " + keyset_sql(EXECUTIONS_TABLE, params, sort, position)
            sql = f"SELECT r.id FROM ({current}) AS r WHERE {where} ORDER BY {order_sql(EXECUTIONS_TABLE, sort)}"
            return [uuid.UUID(row["id"]) for row in runner.run(sql, params).rows]

        assert ids(None) == [row.id for row in expected], text
        for index in (0, 3, 6, 9):
            position = [getattr(expected[index], item.field) for item in sort.fields]
            assert ids(position) == [row.id for row in expected[index + 1:]], (text, position)
