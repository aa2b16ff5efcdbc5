"""A configured SQL database: its engine and what the adapter needs to know about its dialect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from adapters.sql.copy import COPY_THRESHOLD
from adapters.sql.engine import PoolSettings, create_engine


@dataclass(frozen=True, eq=False, slots=True)
class SqlDatabase:
    engine: Engine
    copy_threshold: int = COPY_THRESHOLD
    """Rows from which a PostgreSQL bulk insert goes through COPY (`adapters/sql/copy.py`)."""

    @classmethod
    def from_url(cls, url: str, pool: PoolSettings | None = None, echo: bool = False) -> SqlDatabase:
        return cls(create_engine(url, pool, echo))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def uses_row_level_security(self) -> bool:
        return self.dialect == "postgresql"

    def open_driver_connection(self) -> Any:
        """A new driver connection outside the pool, for a task that keeps one for itself (the
        job wake-up listener's LISTEN): a pooled connection checked out for ever would shrink the pool."""
        arguments, options = self.engine.dialect.create_connect_args(self.engine.url)
        return self.engine.dialect.connect(*arguments, **options)

    def dispose(self) -> None:
        self.engine.dispose()
