"""Metrics in the database: spec 002's `metrics` table, one row per sample, queried in SQL.

Departures from the spec's table, each for a reason:
- `tenant_id` leads every key: metrics are tenant-labelled, and row-level security confines them
  on PostgreSQL as it does every tenant table;
- time is `timestamp_ms`, milliseconds since the epoch (BIGINT): Prometheus' resolution, and integer
  arithmetic that is exact on both dialects, which the step bucketing below relies on;
- `series_key`, a digest of the labels, identifies a series: grouping and the unique key compare
  it rather than the JSON document (JSON equality differs between dialects);
- no GIN index on `tags`: every query is narrowed by tenant, name and time first, and a GIN index
  would be maintained on every insert of the most written table.

Each `write` is one short transaction of its own (outside any unit of work, like the rate counter):
a measurement survives the rollback of the work it measured.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from adapters.metrics import MetricsStore, StepValue, quantile_of_increases
from adapters.sql.bulk import insert_ignoring_conflicts
from adapters.sql.database import SqlDatabase
from adapters.sql.errors import translated
from adapters.sql.metadata import metadata
from adapters.sql.row_level_security import bind_scope
from adapters.sql.types import json_document, text
from domain.metrics.names import BUCKET_LABEL, Labels
from domain.metrics.series import Series
from domain.metrics.time_range import TimeRange
from domain.shared.ids import new_id
from domain.shared.scope import TenantScope

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("tenant_id", sa.Uuid(), nullable=False),
    sa.Column("metric_name", text(255), nullable=False),
    sa.Column("series_key", text(32), nullable=False),
    sa.Column("tags", json_document(), nullable=False),
    sa.Column("metric_value", sa.Double(), nullable=False),
    sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
    sa.UniqueConstraint("tenant_id", "metric_name", "series_key", "timestamp_ms"),
    sa.Index(None, "tenant_id", "metric_name", "timestamp_ms"),
)

_c = metrics.c


def series_key(labels: Labels) -> str:
    """128 bits of SHA-256 over the canonical labels: collisions are out of reach."""
    canonical = json.dumps(labels, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _millis(name: str) -> sa.BindParameter[int]:
    return sa.bindparam(name, type_=sa.BigInteger())


class SqlMetricsStore(MetricsStore):
    name: ClassVar[str] = "sql"

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database

    @contextmanager
    def _transaction(self, tenant: str) -> Iterator[sa.Connection]:
        with translated("metrics"), self._database.engine.begin() as connection:
            if self._database.uses_row_level_security:
                bind_scope(connection, TenantScope.of(tenant))
            yield connection

    def write(self, tenant: str, series: Sequence[Series]) -> None:
        owner = uuid.UUID(tenant)
        rows: list[dict[str, Any]] = []
        for item in series:
            key, tags = series_key(item.key.labels), dict(item.key.labels)
            rows += [{"id": new_id(), "tenant_id": owner, "metric_name": item.key.name, "series_key": key,
                      "tags": tags, "metric_value": value, "timestamp_ms": at} for at, value in item.samples]
        with self._transaction(tenant) as connection:
            insert_ignoring_conflicts(connection, metrics, rows)

    def _where(self, connection: sa.Connection, tenant: str, name: str, wanted: Labels) -> list[sa.ColumnElement[bool]]:
        conditions = [_c.tenant_id == uuid.UUID(tenant), _c.metric_name == name]
        if wanted and connection.dialect.name == "postgresql":
            conditions.append(sa.type_coerce(_c.tags, postgresql.JSONB).contains(dict(wanted)))
        else:
            conditions += [_c.tags[label].as_string() == value for label, value in wanted]
        return conditions

    def step_values(self, tenant: str, name: str, wanted: Labels, window: TimeRange) -> list[StepValue]:
        # The point of a sample at ts is start + ceil((ts - start) / step) * step; the numerator below
        # is never negative (ts > start - step), so integer division rounds down on both dialects.
        point = _millis("start") + (_c.timestamp_ms - _millis("start") + _millis("step") - 1) // _millis("step") \
            * _millis("step")
        with self._transaction(tenant) as connection:
            ranked = (
                sa.select(point.label("point"), _c.tags, _c.metric_value,
                          sa.func.row_number().over(partition_by=(_c.series_key, point),
                                                    order_by=_c.timestamp_ms.desc()).label("rank"))
                .where(*self._where(connection, tenant, name, wanted),
                       _c.timestamp_ms > _millis("earliest"), _c.timestamp_ms <= _millis("last"))
                .subquery()
            )
            statement = sa.select(ranked.c.point, ranked.c.tags, ranked.c.metric_value).where(ranked.c.rank == 1)
            rows = connection.execute(statement, {"start": window.start_ms, "step": window.step_ms,
                                                  "earliest": window.earliest_sample_ms,
                                                  "last": window.last_point_ms}).all()
        return [(int(at), tuple(sorted(tags.items())), float(value)) for at, tags, value in rows]

    def latest(self, tenant: str, name: str, wanted: Labels) -> float | None:
        with self._transaction(tenant) as connection:
            ranked = (
                sa.select(_c.metric_value, sa.func.row_number().over(
                    partition_by=_c.series_key, order_by=_c.timestamp_ms.desc()).label("rank"))
                .where(*self._where(connection, tenant, name, wanted))
                .subquery()
            )
            found = connection.execute(sa.select(sa.func.max(ranked.c.metric_value)).where(ranked.c.rank == 1))
            value = found.scalar()
        return None if value is None else float(value)

    def quantile(self, tenant: str, histogram: str, wanted: Labels, quantile: float, window: TimeRange) -> float:
        # Per bucket series: its count at the end less its count at the start (zero before its first
        # sample), never below zero; then summed per bound. Only the interpolation runs in Python.
        before_start = _c.timestamp_ms <= _millis("start")
        with self._transaction(tenant) as connection:
            ranked = (
                sa.select(
                    _c.series_key, _c.tags[BUCKET_LABEL].as_string().label("bound"), _c.metric_value,
                    sa.case((before_start, 1), else_=0).label("before_start"),
                    sa.func.row_number().over(partition_by=_c.series_key, order_by=_c.timestamp_ms.desc())
                    .label("rank"),
                    sa.func.row_number().over(partition_by=(_c.series_key, sa.case((before_start, 1), else_=0)),
                                              order_by=_c.timestamp_ms.desc()).label("rank_in_part"),
                )
                .where(*self._where(connection, tenant, histogram, wanted), _c.timestamp_ms <= _millis("end"))
                .subquery()
            )
            at_end = sa.func.max(sa.case((ranked.c.rank == 1, ranked.c.metric_value)))
            at_start = sa.func.coalesce(sa.func.max(sa.case(
                ((ranked.c.before_start == 1) & (ranked.c.rank_in_part == 1), ranked.c.metric_value))), 0.0)
            per_series = (
                sa.select(sa.func.max(ranked.c.bound).label("bound"), (at_end - at_start).label("rise"))
                .group_by(ranked.c.series_key)
                .subquery()
            )
            rise = sa.case((per_series.c.rise < 0, 0.0), else_=per_series.c.rise)
            statement = sa.select(per_series.c.bound, sa.func.sum(rise)).where(per_series.c.bound.is_not(None)) \
                .group_by(per_series.c.bound)
            rows = connection.execute(statement, {"start": window.start_ms, "end": window.end_ms}).all()
        return quantile_of_increases(quantile, ((str(bound), float(total)) for bound, total in rows))
