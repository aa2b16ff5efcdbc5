"""The reliability tables and repositories in SQL: the shared rules of `adapters.reliability` over
`SqlCrud`, with SQL primitives.

No foreign keys: the memory adapter has none, and a tenant's rows are reached through its unit of
work only, so references are checked by the use cases on every backend alike. `tenant_id` comes
first in every key and index (the explicit tenant filter of every statement drives them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from adapters.reliability import (
    OPEN_STATUS_VALUES,
    ActionRules,
    AppendOnly,
    DecisionRules,
    EventRules,
    IncidentRules,
    KillSwitchRules,
    Query,
    VendorRules,
    WorkflowRules,
)
from adapters.sql.bulk import insert_returning
from adapters.sql.crud import SqlCrud, dialect_insert
from adapters.sql.errors import translated
from adapters.sql.metadata import metadata
from adapters.sql.types import UtcDateTime, json_document, text
from domain.reliability.action import Action, ActionStatus, ActionType
from domain.reliability.decision import Decision
from domain.reliability.event import Event
from domain.reliability.filters import (
    ActionFilter,
    DecisionFilter,
    EventFilter,
    IncidentFilter,
    KillSwitchFilter,
    VendorFilter,
    WorkflowFilter,
)
from domain.reliability.incident import Incident, IncidentStatus, Severity
from domain.reliability.kill_switch import KillSwitch
from domain.reliability.vendor import BreakerState, Vendor
from domain.reliability.workflow import Workflow
from domain.shared.entity import Entity
from domain.shared.filters import FilterSet
from domain.shared.scope import TenantScope
from ports.records import ListingPlan
from ports.reliability import (
    ACTION_SCHEMA,
    DECISION_SCHEMA,
    EVENT_SCHEMA,
    INCIDENT_SCHEMA,
    KILL_SWITCH_SCHEMA,
    VENDOR_SCHEMA,
    WORKFLOW_SCHEMA,
)

E = TypeVar("E", bound=Entity)
F = TypeVar("F", bound=FilterSet)


class StrEnumText(sa.TypeDecorator[StrEnum]):
    """A `StrEnum` stored as its value in byte-ordered text, read back as the member: lifecycle
    checks and `.value` work on loaded aggregates as on new ones."""

    impl: sa.types.TypeEngine[Any] | type[sa.types.TypeEngine[Any]] = sa.String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 20) -> None:
        super().__init__(length)
        self.enum = enum
        self.impl = text(length)

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


def _base_columns(*, tenant: bool = True) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [sa.Column("id", sa.Uuid(), primary_key=True)]
    if tenant:
        columns.append(sa.Column("tenant_id", sa.Uuid(), nullable=False))
    return columns


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


workflows = sa.Table(
    "workflows",
    metadata,
    *_base_columns(),
    sa.Column("name", text(255), nullable=False),
    sa.Column("description", text(2000), nullable=False),
    sa.Column("is_active", sa.Boolean(), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("tenant_id", "name"),
    sa.Index(None, "tenant_id", "created_at", "id"),
)

vendors = sa.Table(
    "vendors",
    metadata,
    *_base_columns(tenant=False),
    sa.Column("name", text(255), nullable=False),
    sa.Column("circuit_breaker_state", StrEnumText(BreakerState), nullable=False),
    sa.Column("circuit_breaker_failure_count", sa.Integer(), nullable=False),
    sa.Column("failure_threshold", sa.Integer(), nullable=False),
    sa.Column("cool_down_seconds", sa.Integer(), nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=True),
    sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("name"),
    sa.Index(None, "created_at", "id"),
)

events = sa.Table(
    "events",
    metadata,
    *_base_columns(),
    sa.Column("workflow_id", sa.Uuid(), nullable=False),
    sa.Column("event_type", text(255), nullable=False),
    sa.Column("payload", json_document(), nullable=False),
    sa.Column("idempotency_key", text(255), nullable=False),
    sa.Column("correlation_id", text(255), nullable=True),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("tenant_id", "idempotency_key"),
    # Spec: (tenant_id, workflow_id) and (tenant_id, occurred_at); occurred_at extends the first for
    # get_recent_events, id extends the second for the default listing's order.
    sa.Index(None, "tenant_id", "workflow_id", "occurred_at"),
    sa.Index(None, "tenant_id", "occurred_at", "id"),
)

OPEN_INCIDENT = "status IN ({})".format(", ".join(f"'{value}'" for value in OPEN_STATUS_VALUES))
"""The predicate of the partial unique index; ON CONFLICT repeats it so PostgreSQL infers the index."""

incidents = sa.Table(
    "incidents",
    metadata,
    *_base_columns(),
    sa.Column("workflow_id", sa.Uuid(), nullable=False),
    sa.Column("signature", text(128), nullable=False),
    sa.Column("title", text(500), nullable=False),
    sa.Column("status", StrEnumText(IncidentStatus), nullable=False),
    sa.Column("severity", StrEnumText(Severity), nullable=False),
    sa.Column("event_count", sa.Integer(), nullable=False),
    sa.Column("first_seen_at", UtcDateTime(), nullable=False),
    sa.Column("last_seen_at", UtcDateTime(), nullable=False),
    sa.Column("correlation_id", text(255), nullable=True),
    *_timestamps(),
    # At most one open incident per signature, even between concurrent transactions.
    sa.Index(
        "uq_incidents_open_signature", "tenant_id", "signature", unique=True,
        sqlite_where=sa.text(OPEN_INCIDENT), postgresql_where=sa.text(OPEN_INCIDENT),
    ),
    # Spec: (tenant_id, status); created_at serves get_incidents_by_status's newest-first order.
    sa.Index(None, "tenant_id", "status", "created_at"),
    sa.Index(None, "tenant_id", "created_at", "id"),
)

decisions = sa.Table(
    "decisions",
    metadata,
    *_base_columns(),
    sa.Column("incident_id", sa.Uuid(), nullable=False),
    sa.Column("decision_type", text(100), nullable=False),
    sa.Column("reasoning", text(20_000), nullable=False),
    sa.Column("confidence_score", sa.Double(), nullable=False),
    sa.Column("ai_model", text(200), nullable=False),
    *_timestamps(),
    sa.Index(None, "tenant_id", "incident_id", "created_at"),
    sa.Index(None, "tenant_id", "created_at", "id"),
)

actions = sa.Table(
    "actions",
    metadata,
    *_base_columns(),
    sa.Column("incident_id", sa.Uuid(), nullable=False),
    sa.Column("action_type", StrEnumText(ActionType), nullable=False),
    sa.Column("status", StrEnumText(ActionStatus), nullable=False),
    sa.Column("parameters", json_document(), nullable=False),
    sa.Column("result", json_document(), nullable=True),
    sa.Column("is_reversible", sa.Boolean(), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    *_timestamps(),
    # Spec: (incident_id, status), behind tenant_id.
    sa.Index(None, "tenant_id", "incident_id", "status"),
    sa.Index(None, "tenant_id", "created_at", "id"),
)

kill_switches = sa.Table(
    "kill_switches",
    metadata,
    *_base_columns(),
    sa.Column("workflow_id", sa.Uuid(), nullable=True),
    sa.Column("is_active", sa.Boolean(), nullable=False),
    sa.Column("reason", text(2000), nullable=False),
    sa.Column("activated_by", text(255), nullable=False),
    sa.Column("activated_at", UtcDateTime(), nullable=False),
    sa.Column("released_by", text(255), nullable=True),
    sa.Column("released_at", UtcDateTime(), nullable=True),
    *_timestamps(),
    sa.Index(None, "tenant_id", "is_active", "workflow_id"),
    sa.Index(None, "tenant_id", "created_at", "id"),
)


class SqlRecords(SqlCrud[E, F]):
    """`SqlCrud` with the primitives the shared rules are written over."""

    def _find(self, query: Query) -> list[E]:
        # A plan without cursor or page: only its conditions and order are used.
        statement = self._ordered(ListingPlan(query.conditions, query.sort, (), limit=query.limit or 0))
        if query.limit is not None:
            statement = statement.limit(query.limit)
        with translated(self._schema.entity):
            return [self._from_row(row) for row in self._connection.execute(statement)]

    def _count_by(self, field: str) -> dict[Any, int]:
        column = self._table.c[field]
        statement = self._scoped(sa.select(column, sa.func.count()).select_from(self._table).group_by(column))
        with translated(self._schema.entity):
            return {value: int(count) for value, count in self._connection.execute(statement)}

    @contextmanager
    def _atomically(self) -> Iterator[None]:
        with translated(self._schema.entity), self._connection.begin_nested():
            yield


class SqlWorkflowRepository(SqlRecords[Workflow, WorkflowFilter], WorkflowRules):
    def __init__(self, connection: sa.Connection, scope: TenantScope) -> None:
        super().__init__(WORKFLOW_SCHEMA, workflows, connection, scope)


class SqlVendorRepository(SqlRecords[Vendor, VendorFilter], VendorRules):
    def __init__(self, connection: sa.Connection, scope: TenantScope) -> None:
        super().__init__(VENDOR_SCHEMA, vendors, connection, scope)


class SqlEventRepository(AppendOnly, SqlRecords[Event, EventFilter], EventRules):
    def __init__(self, connection: sa.Connection, scope: TenantScope) -> None:
        super().__init__(EVENT_SCHEMA, events, connection, scope)

    def _insert_new(self, batch: list[Event]) -> set[str]:
        rows = [self._to_row(event) for event in batch]
        with translated(self._schema.entity):
            return set(insert_returning(self._connection, events, rows, "idempotency_key"))


class SqlIncidentRepository(SqlRecords[Incident, IncidentFilter], IncidentRules):
    def __init__(self, connection: sa.Connection, scope: TenantScope) -> None:
        super().__init__(INCIDENT_SCHEMA, incidents, connection, scope)

    def _insert_open(self, incident: Incident) -> bool:
        statement = (
            dialect_insert(self._connection, incidents)
            .values(self._to_row(incident))
            .on_conflict_do_nothing(index_elements=["tenant_id", "signature"], index_where=sa.text(OPEN_INCIDENT))
            .returning(incidents.c.id)
        )
        with translated(self._schema.entity):
            return self._connection.execute(statement).first() is not None


class SqlDecisionRepository(AppendOnly, SqlRecords[Decision, DecisionFilter], DecisionRules):
    def __init__(self, connection: sa.Connection, scope: TenantScope) -> None:
        super().__init__(DECISION_SCHEMA, decisions, connection, scope)


class SqlActionRepository(SqlRecords[Action, ActionFilter], ActionRules):
    def __init__(self, connection: sa.Connection, scope: TenantScope) -> None:
        super().__init__(ACTION_SCHEMA, actions, connection, scope)


class SqlKillSwitchRepository(SqlRecords[KillSwitch, KillSwitchFilter], KillSwitchRules):
    def __init__(self, connection: sa.Connection, scope: TenantScope) -> None:
        super().__init__(KILL_SWITCH_SCHEMA, kill_switches, connection, scope)
