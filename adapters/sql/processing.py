"""The processing tables in SQL (spec 000), and the two executions queries SQL answers in one
statement each.

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

from adapters.records.store import RecordStore
from adapters.rules.execution_queries import ExecutionQueries
from adapters.sql.declarations import aggregate_table, optional, partial_unique_index
from adapters.sql.errors import translated
from adapters.sql.records import SqlRecordStore
from adapters.sql.types import StrEnumText, UtcDateTime, json_document, text
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.subscriptions import PriceUnit, SubscriptionStatus, UnderwritingProcessor
from ports.processing import EXECUTION_SCHEMA, LIVE_PAYLOAD, LIVE_PAYLOAD_KEY


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


# Index names are explicit: the naming convention's would pass PostgreSQL's 63-character limit.
purchased_processors = aggregate_table(
    "purchased_processors", scope="organization_id",
    columns={
        "processor": text(100), "name": text(200), "auto": sa.Boolean(), "status": StrEnumText(SubscriptionStatus),
        "config": json_document(), "price_amount": sa.BigInteger(), "price_unit": StrEnumText(PriceUnit),
        "purchased_at": UtcDateTime(), "purchased_by": optional(sa.Uuid()),
    },
    # get_processor_by_name; get_purchased_processors_by_organization and listings use the listing index.
    listing_index="ix_purchased_processors_created",
    extras=(sa.Index("ix_purchased_processors_processor", "organization_id", "processor", "status"),),
)

underwriting_processors = aggregate_table(
    "underwriting_processors", scope="organization_id",
    columns={
        "underwriting_id": sa.Uuid(), "purchased_processor_id": sa.Uuid(), "processor": text(100),
        "name": text(200), "auto": sa.Boolean(), "enabled": sa.Boolean(), "config_override": json_document(),
        "effective_config": json_document(), "current_executions_list": uuid_list(),
    },
    listing_index="ix_underwriting_processors_created",
    # The schema's unique key; its (organization_id, underwriting_id) prefix serves get_underwriting_processors.
    extras=(sa.UniqueConstraint("organization_id", "underwriting_id", "processor",
                                name="uq_underwriting_processors_processor"),),
)

processor_executions = aggregate_table(
    "processor_executions", scope="organization_id",
    columns={
        "underwriting_id": sa.Uuid(), "underwriting_processor_id": sa.Uuid(), "processor": text(100),
        "status": StrEnumText(ExecutionStatus), "enabled": sa.Boolean(), "payload": json_document(),
        "payload_hash": text(64), "output": optional(json_document()), "factors_delta": optional(json_document()),
        "document_revision_ids": text_list(), "document_ids_hash": optional(text(64)),
        "run_cost_cents": optional(sa.BigInteger()), "started_at": optional(UtcDateTime()),
        "completed_at": optional(UtcDateTime()), "failed_code": optional(text(100)),
        "failed_reason": optional(text(5000)), "updated_execution_id": optional(sa.Uuid()),
        "disabled_at": optional(UtcDateTime()),
    },
    listing_index="ix_processor_executions_created",
    extras=(
        # Deduplication that holds between concurrent transactions: one live execution per payload.
        partial_unique_index("uq_processor_executions_live_payload", EXECUTION_SCHEMA, LIVE_PAYLOAD),
        # find_execution_by_hash's newest failed execution (the partial index holds no failed one).
        sa.Index("ix_processor_executions_payload_hash", *LIVE_PAYLOAD_KEY, "created_at"),
        # get_executions_by_underwriting and get_execution_count, oldest first.
        sa.Index("ix_processor_executions_underwriting", "organization_id", "underwriting_id", "processor",
                 "created_at"),
        # The chain's walk backwards (who was superseded by this one); forwards is the primary key.
        sa.Index("ix_processor_executions_superseded", "organization_id", "updated_execution_id"),
    ),
)


class SqlExecutionQueries(ExecutionQueries):
    """The active executions and the chain in one statement each."""

    def __init__(self, executions: RecordStore[Execution], underwriting: RecordStore[UnderwritingProcessor]) -> None:
        if not isinstance(executions, SqlRecordStore):
            raise TypeError("SqlExecutionQueries reads SQL record stores")
        self._store = executions

    def active(self, up_id: uuid.UUID) -> list[Execution]:
        store = self._store
        tenant = store.schema.scope_value(store.scope)
        up, execution = underwriting_processors, processor_executions
        conditions = [
            up.c.id == up_id, up.c.organization_id == tenant, execution.c.organization_id == tenant,
            execution.c.underwriting_processor_id == up.c.id, execution.c.enabled.is_(True),
            execution.c.status == ExecutionStatus.COMPLETED,
        ]
        statement: sa.Select[Any]
        if store.connection.dialect.name == "postgresql":
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
        with translated(store.schema.entity):
            return [store.from_row(row) for row in store.connection.execute(statement)]

    def chain(self, execution_id: uuid.UUID) -> list[Execution]:
        store = self._store
        tenant = store.schema.scope_value(store.scope)
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
        with translated(store.schema.entity):
            return [store.from_row(row) for row in store.connection.execute(statement)]
