"""The SQL tier's own duties: UNLOGGED on PostgreSQL, expired rows purged, reads counted in the row."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from adapters.caching.tier import Entry
from adapters.sql.cache import SqlTier, cache_entries
from adapters.sql.database import SqlDatabase
from tests.contract.test_caching_contract import empty_cache_table


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.sqlite),
                        pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[SqlDatabase]:
    found: SqlDatabase = request.getfixturevalue(f"{request.param}_database")
    empty_cache_table(found)
    yield found
    empty_cache_table(found)


@pytest.mark.postgres
def test_the_table_is_unlogged_on_postgresql(postgres_database: SqlDatabase) -> None:
    with postgres_database.engine.connect() as connection:
        persistence = connection.exec_driver_sql(
            "SELECT relpersistence FROM pg_class WHERE relname = 'cache_entries'").scalar_one()
    assert persistence == "u"


def test_expired_rows_are_purged(database: SqlDatabase) -> None:
    clock = [time.time()]
    tier = SqlTier(database, now=lambda: clock[0], purge_interval=10)
    tier.set_many({"old": Entry(1, "1", clock[0] + 5), "new": Entry(2, "2", clock[0] + 500)})
    clock[0] += 6
    assert tier.get("old") is None  # expired rows are never answered, purged or not
    assert tier.purge_expired() == 1
    tier.set("later", Entry(3, "3", clock[0] + 500))
    clock[0] += 11
    tier.set("again", Entry(4, "4", clock[0] + 1))  # a write past the purge interval purges on its own
    clock[0] += 2
    tier.set("trigger", Entry(5, "5", clock[0] + 500))
    clock[0] += 11
    tier.set("purging", Entry(6, "6", clock[0] + 500))
    with database.engine.connect() as connection:
        keys = sorted(connection.execute(sa.select(cache_entries.c.cache_key)).scalars())
    assert keys == ["later", "new", "purging", "trigger"]


def test_a_read_touches_accessed_at_and_access_count(database: SqlDatabase) -> None:
    tier = SqlTier(database)
    tier.set("key", Entry({"a": 1}, '{"a":1}', time.time() + 60))
    for _ in range(3):
        assert tier.get("key") is not None
    with database.engine.connect() as connection:
        row = connection.execute(sa.select(cache_entries.c.access_count, cache_entries.c.accessed_at,
                                           cache_entries.c.ttl_seconds)).one()
    assert row.access_count == 3 and row.accessed_at is not None and row.ttl_seconds == 60
