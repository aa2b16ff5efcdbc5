"""Rate counting in the database: every process of a deployment shares the counts.

Global (no tenant, no row-level security): vendors are global, and so are their limits. Each hit is
one upsert in its own short transaction, outside any unit of work, so that a count is visible to
the other processes at once and a rolled-back use case still counts the calls it made.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from adapters.rate_limit import rate_counter_arguments
from adapters.sql.database import SqlDatabase
from adapters.sql.errors import translated
from adapters.sql.metadata import metadata
from adapters.sql.records import dialect_insert
from adapters.sql.types import UtcDateTime, text
from ports.rate_limit import RateCounter

rate_limit_counters = sa.Table(
    "rate_limit_counters",
    metadata,
    sa.Column("key", text(255), primary_key=True),
    sa.Column("window_start", UtcDateTime(), primary_key=True),
    sa.Column("count", sa.Integer(), nullable=False),
)

_COUNT = rate_limit_counters.c["count"]
_SLOT = (rate_limit_counters.c.key == sa.bindparam("key")) & (
    rate_limit_counters.c.window_start == sa.bindparam("window", type_=UtcDateTime())
)


class SqlRateCounter(RateCounter):
    def __init__(self, database: SqlDatabase) -> None:
        self._engine = database.engine

    def hit(self, key: str, window: datetime) -> int:
        key, window = rate_counter_arguments(key, window)
        with translated("rate counter"), self._engine.begin() as connection:
            # One statement: the row lock taken by the conflicting insert makes the increment atomic.
            statement = (
                dialect_insert(connection, rate_limit_counters)
                .values(key=key, window_start=window, count=1)
                .on_conflict_do_update(index_elements=["key", "window_start"], set_={"count": _COUNT + 1})
                .returning(_COUNT)
            )
            return int(connection.execute(statement).scalar_one())

    def count(self, key: str, window: datetime) -> int:
        key, window = rate_counter_arguments(key, window)
        with translated("rate counter"), self._engine.connect() as connection:
            found = connection.execute(sa.select(_COUNT).where(_SLOT), {"key": key, "window": window}).scalar()
        return 0 if found is None else int(found)
