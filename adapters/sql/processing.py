"""The processing tables and repositories in SQL (spec 000): the shared rules of
`adapters.processing` over `SqlRecords`, with SQL primitives.

Spec 000's tables and columns, plus `created_at`, `updated_at` and `version` on each (optimistic
concurrency: `UPDATE ... WHERE id AND version`). PostgreSQL stores JSONB, UUID, UUID[] and TEXT[];
SQLite stores JSON in their place. `organization_id` comes first in every key and index, and no
foreign keys, as in the reliability tables (see there).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from adapters.processing import (
    LIVE_PAYLOAD_KEY,
    LIVE_STATUS_VALUES,
    ExecutionRules,
    ProcessorRules,
    PurchasedRecords,
    UnderwritingRecords,
)
from adapters.sql.crud import dialect_insert
from adapters.sql.errors import translated
from adapters.sql.metadata import metadata
from adapters.sql.reliability import SqlRecords, StrEnumText
from adapters.sql.types import UtcDateTime, json_document, text
from domain.processing.catalog import ProcessorCatalog
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.filters import ExecutionFilter, PurchasedProcessorFilter, UnderwritingProcessorFilter
from domain.processing.subscriptions import PriceUnit, PurchasedProcessor, SubscriptionStatus, UnderwritingProcessor
from domain.shared.scope import TenantScope
from ports.clock import Clock
from ports.processing import EXECUTION_SCHEMA, PURCHASED_PROCESSOR_SCHEMA, UNDERWRITING_PROCESSOR_SCHEMA


class HexUuidList(sa.TypeDecorator[list[uuid.UUID]]):
    """SQLite's UUID[]: a JSON array of the ids in the 32-digit hex form `sa.Uuid` stores there, so
    that `json_each` values compare equal to id columns. Read back as `uuid.UUID`s."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: list[uuid.UUID] | None, dialect: Dialect) -> list[str] | None:
        return None if value is None else [item.hex for item in value]

    def process_result_value(self, value: Any, dialect: Dialect) -> list[uuid.UUID] | None:
        return None if value is None else [uuid.UUID(item) for item in value]


def uuid_list() -> sa.types.TypeEngine[Any]:
    return HexUuidList().with_variant(postgresql.ARRAY(sa.Uuid()), "postgresql")


def text_list() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")


def _stamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


# Index names are explicit: the naming convention's would pass PostgreSQL's 63-character limit.
purchased_processors = sa.Table(
    "purchased_processors",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("organization_id", sa.Uuid(), nullable=False),
    sa.Column("processor", text(100), nullable=False),
    sa.Column("name", text(200), nullable=False),
    sa.Column("auto", sa.Boolean(), nullable=False),
    sa.Column("status", StrEnumText(SubscriptionStatus), nullable=False),
    sa.Column("config", json_document(), nullable=False),
    sa.Column("price_amount", sa.BigInteger(), nullable=False),
    sa.Column("price_unit", StrEnumText(PriceUnit), nullable=False),
    sa.Column("purchased_at", UtcDateTime(), nullable=False),
    sa.Column("purchased_by", sa.Uuid(), nullable=True),
    *_stamps(),
    # get_processor_by_name; get_purchased_processors_by_organization and listings use the second.
    sa.Index("ix_purchased_processors_processor", "organization_id", "processor", "status"),
    sa.Index("ix_purchased_processors_created", "organization_id", "created_at", "id"),
)

underwriting_processors = sa.Table(
    "underwriting_processors",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("organization_id", sa.Uuid(), nullable=False),
    sa.Column("underwriting_id", sa.Uuid(), nullable=False),
    sa.Column("purchased_processor_id", sa.Uuid(), nullable=False),
    sa.Column("processor", text(100), nullable=False),
    sa.Column("name", text(200), nullable=False),
    sa.Column("auto", sa.Boolean(), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("config_override", json_document(), nullable=False),
    sa.Column("effective_config", json_document(), nullable=False),
    sa.Column("current_executions_list", uuid_list(), nullable=False),
    *_stamps(),
    # The schema's unique key; its (organization_id, underwriting_id) prefix serves get_underwriting_processors.
    sa.UniqueConstraint("organization_id", "underwriting_id", "processor", name="uq_underwriting_processors_processor"),
    sa.Index("ix_underwriting_processors_created", "organization_id", "created_at", "id"),
)

LIVE_EXECUTION = "status IN ({})".format(", ".join(f"'{value}'" for value in LIVE_STATUS_VALUES))
"""The predicate of the partial unique index; ON CONFLICT repeats it so that the index is inferred."""

processor_executions = sa.Table(
    "processor_executions",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("organization_id", sa.Uuid(), nullable=False),
    sa.Column("underwriting_id", sa.Uuid(), nullable=False),
    sa.Column("underwriting_processor_id", sa.Uuid(), nullable=False),
    sa.Column("processor", text(100), nullable=False),
    sa.Column("status", StrEnumText(ExecutionStatus), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("payload", json_document(), nullable=False),
    sa.Column("payload_hash", text(64), nullable=False),
    sa.Column("output", json_document(), nullable=True),
    sa.Column("factors_delta", json_document(), nullable=True),
    sa.Column("document_revision_ids", text_list(), nullable=False),
    sa.Column("document_ids_hash", text(64), nullable=True),
    sa.Column("run_cost_cents", sa.BigInteger(), nullable=True),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("completed_at", UtcDateTime(), nullable=True),
    sa.Column("failed_code", text(100), nullable=True),
    sa.Column("failed_reason", text(5000), nullable=True),
    sa.Column("updated_execution_id", sa.Uuid(), nullable=True),
    sa.Column("disabled_at", UtcDateTime(), nullable=True),
    *_stamps(),
    # Deduplication that holds between concurrent transactions: one live execution per payload.
    sa.Index(
        "uq_processor_executions_live_payload", *LIVE_PAYLOAD_KEY, unique=True,
        sqlite_where=sa.text(LIVE_EXECUTION), postgresql_where=sa.text(LIVE_EXECUTION),
    ),
    # find_execution_by_hash's newest failed execution (the partial index holds no failed one).
    sa.Index("ix_processor_executions_payload_hash", *LIVE_PAYLOAD_KEY, "created_at"),
    # get_executions_by_underwriting and get_execution_count, oldest first.
    sa.Index("ix_processor_executions_underwriting", "organization_id", "underwriting_id", "processor", "created_at"),
    # The chain's walk backwards (who was superseded by this one); forwards is the primary key.
    sa.Index("ix_processor_executions_superseded", "organization_id", "updated_execution_id"),
    sa.Index("ix_processor_executions_created", "organization_id", "created_at", "id"),
)


class SqlPurchasedStore(SqlRecords[PurchasedProcessor, PurchasedProcessorFilter], PurchasedRecords):
    def __init__(self, connection: sa.Connection, scope: TenantScope) -> None:
        super().__init__(PURCHASED_PROCESSOR_SCHEMA, purchased_processors, connection, scope)


class SqlUnderwritingStore(SqlRecords[UnderwritingProcessor, UnderwritingProcessorFilter], UnderwritingRecords):
    def __init__(self, connection: sa.Connection, scope: TenantScope) -> None:
        super().__init__(UNDERWRITING_PROCESSOR_SCHEMA, underwriting_processors, connection, scope)


class SqlExecutionRepository(SqlRecords[Execution, ExecutionFilter], ExecutionRules):
    def __init__(self, connection: sa.Connection, scope: TenantScope, catalog: ProcessorCatalog,
                 clock: Clock) -> None:
        super().__init__(EXECUTION_SCHEMA, processor_executions, connection, scope)
        self._catalog = catalog
        self._clock = clock

    def _store_move(self, execution: Execution) -> Execution:
        # `update` takes a savepoint because of the partial unique index; the rules' own moves
        # cannot violate it, so they skip the two extra round trips.
        return self._update(execution, guarded=False)

    def _insert_deduplicated(self, execution: Execution) -> bool:
        # ON CONFLICT names the partial index: a concurrent insert of the key is waited for, and no
        # row back leaves the transaction usable (a unique violation would abort it on PostgreSQL).
        statement = (
            dialect_insert(self._connection, processor_executions)
            .values(self._to_row(execution))
            .on_conflict_do_nothing(index_elements=list(LIVE_PAYLOAD_KEY), index_where=sa.text(LIVE_EXECUTION))
            .returning(processor_executions.c.id)
        )
        with translated(self._schema.entity):
            return self._connection.execute(statement).first() is not None

    def _active(self, up_id: uuid.UUID) -> list[Execution]:
        tenant = self._schema.scope_value(self._scope)
        up, execution = underwriting_processors, processor_executions
        conditions = [
            up.c.id == up_id, up.c.organization_id == tenant, execution.c.organization_id == tenant,
            execution.c.underwriting_processor_id == up.c.id, execution.c.enabled.is_(True),
            execution.c.status == ExecutionStatus.COMPLETED,
        ]
        statement: sa.Select[Any]
        if self._connection.dialect.name == "postgresql":
            # unnest ... WITH ORDINALITY keeps the list's order without array_position (quadratic in the
            # list's length), and lets the planner probe the primary key per listed id when that is
            # cheaper than reading the processor's live executions through the dedup index.
            listed = (
                sa.func.unnest(up.c.current_executions_list)
                .table_valued("value", with_ordinality="position")
                .render_derived(name="listed")  # AS listed(value, position): how PostgreSQL names them
                .lateral()
            )
            statement = (
                sa.select(execution)
                .select_from(up.join(listed, sa.true()).join(execution, execution.c.id == listed.c.value))
                .where(*conditions)
                .order_by(listed.c.position)
            )
        else:
            listed = sa.func.json_each(up.c.current_executions_list).table_valued("key", "value").alias("listed")
            statement = (
                sa.select(execution)
                .select_from(up.join(listed, sa.true()).join(execution, execution.c.id == listed.c.value))
                .where(*conditions)
                .order_by(listed.c.key)
            )
        with translated(self._schema.entity):
            return [self._from_row(row) for row in self._connection.execute(statement)]

    def _chain(self, execution_id: uuid.UUID) -> list[Execution]:
        tenant = self._schema.scope_value(self._scope)
        table = processor_executions
        start = (
            sa.select(table.c.id, table.c.updated_execution_id)
            .where(table.c.id == execution_id, table.c.organization_id == tenant)
            .cte("linked", recursive=True)
        )
        neighbour = table.alias("neighbour")
        # One recursive term walks both ways (PostgreSQL allows one reference to the CTE): rows
        # superseded by a linked one, and the one a linked row was superseded by. The tenant is inside
        # each branch so that each is an index probe (SQLite does not distribute it over the OR).
        # UNION drops rows already reached, which also ends the walk on any loop.
        step = (
            sa.select(neighbour.c.id, neighbour.c.updated_execution_id)
            .join(start, sa.or_(
                sa.and_(neighbour.c.organization_id == tenant, neighbour.c.updated_execution_id == start.c.id),
                sa.and_(neighbour.c.organization_id == tenant, neighbour.c.id == start.c.updated_execution_id),
            ))
        )
        linked = start.union(step)
        # Every linked row passed the tenant filter, in the start and in both branches of the step; the
        # outer query repeats none, so that SQLite probes the few linked ids by primary key instead of
        # scanning the tenant's rows in the order of its (organization_id, created_at, id) index.
        statement = (
            sa.select(table).where(table.c.id.in_(sa.select(linked.c.id))).order_by(table.c.created_at, table.c.id)
        )
        with translated(self._schema.entity):
            return [self._from_row(row) for row in self._connection.execute(statement)]


class SqlProcessorRepository(ProcessorRules):
    def __init__(self, connection: sa.Connection, scope: TenantScope, executions: SqlExecutionRepository,
                 catalog: ProcessorCatalog, clock: Clock) -> None:
        super().__init__(SqlPurchasedStore(connection, scope), SqlUnderwritingStore(connection, scope),
                         executions, catalog, clock)
