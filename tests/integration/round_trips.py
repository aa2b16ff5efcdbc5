"""Counting the round trips of a psycopg2 connection (its deadline connection's `round_trip`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.sql.database import SqlDatabase


def counting_round_trips(database: SqlDatabase) -> Callable[[], int]:
    """How many round trips the pooled psycopg2 connection made since this was called."""
    raw = database.engine.raw_connection()
    driver: Any = raw.driver_connection
    raw.close()
    counted = [0]
    original = driver.round_trip

    def counting() -> Any:
        counted[0] += 1
        return original()

    driver.round_trip = counting
    return lambda: counted[0]
