"""SQL under the async face: an `AsyncEngine` on an async driver, its `sync_engine` under the SQL backend.

`AsyncSqlDatabase.from_url("postgresql+asyncpg://...")` builds the engine as the sync path does
(`adapters/sql/engine.py`: pool, timeouts, SQLite pragmas and `BEGIN IMMEDIATE`) and hands its
`sync_engine` to an ordinary `SqlDatabase`, so `SqlBackend(database.database)` and every SQL record
store run unchanged; the `GreenletRunner` turns their driver round trips into awaits. The sync
path's shortcuts (the read by id and bulk writes on the DBAPI cursor, COPY, the client-side deadline)
are taken only on the blocking drivers (`adapters/sql/driver.py: on_blocking_driver`); these async
drivers take SQLAlchemy's path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from adapters.sql.database import SqlDatabase
from adapters.sql.engine import PoolSettings, create_async_engine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

ASYNC_DRIVERS = {"postgresql": ("asyncpg", "psycopg"), "sqlite": ("aiosqlite",)}
"""The async drivers each database may use; the first one is the default."""


def async_database_url(url: str) -> str:
    """The async driver's URL for the database `url` names: `postgresql://` and
    `postgresql+psycopg2://` become `postgresql+asyncpg://`, `sqlite://` becomes `sqlite+aiosqlite://`;
    a URL already on an async driver is kept."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    drivers = ASYNC_DRIVERS.get(backend)
    if drivers is None:
        raise ValueError(f"no async driver for the database {backend!r}")
    driver = parsed.get_driver_name() if "+" in parsed.drivername else ""
    if driver not in drivers:
        driver = drivers[0]
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


@dataclass(frozen=True, eq=False, slots=True)
class AsyncSqlDatabase:
    engine: AsyncEngine
    database: SqlDatabase
    """The sync face of the same engine and pool: what `SqlBackend` is given."""

    @classmethod
    def from_url(cls, url: str, pool: PoolSettings | None = None, echo: bool = False) -> AsyncSqlDatabase:
        engine = create_async_engine(async_database_url(url), pool, echo)
        return cls(engine, SqlDatabase(engine.sync_engine))

    def checked_out(self) -> int:
        """Connections out of the pool now (0 once every unit of work has ended)."""
        pool = self.engine.sync_engine.pool
        return pool.checkedout() if isinstance(pool, QueuePool) else 0

    async def dispose(self) -> None:
        """Close the pooled connections (on the loop they were opened on)."""
        await self.engine.dispose()
