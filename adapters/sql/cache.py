"""The SQL tier (L3): spec 002's `cache_entries` table on SQLite and PostgreSQL (UNLOGGED there:
a cache is rebuilt, not recovered, so it skips the write-ahead log).

Every operation is one short transaction of its own, outside any unit of work: a cache write must
not wait for, or vanish with, a use case's transaction. A read touches `accessed_at` and
`access_count` in the same statement that reads (UPDATE ... RETURNING). Beside spec 002's columns
the table keeps `expires_at`, indexed: expiry is one comparison on both dialects, and purging
expired rows (`purge_expired`, run by writes at most once per `purge_interval` seconds) is one
index range delete. Patterns are narrowed to the index range of their literal prefix, then matched
exactly with Redis's rules in Python.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from adapters.caching.tier import Entry, Now, ReadCounts, Tier
from adapters.cooperative import in_loop_greenlet
from adapters.sql.database import SqlDatabase
from adapters.sql.errors import translated
from adapters.sql.metadata import metadata
from adapters.sql.records import dialect_insert
from adapters.sql.types import UtcDateTime, json_document, text
from domain.caching.glob import glob_matcher, literal_prefix
from domain.caching.values import encode
from domain.shared.errors import StorageError, StorageUnavailable, ValidationError
from domain.shared.ids import new_id
from ports.health import HealthReport

cache_entries = sa.Table(
    "cache_entries",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("cache_key", text(500), nullable=False),
    sa.Column("value", json_document(), nullable=False),
    sa.Column("ttl_seconds", sa.Integer(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("accessed_at", UtcDateTime(), nullable=True),
    sa.Column("access_count", sa.Integer(), nullable=False),
    sa.UniqueConstraint("cache_key"),
    sa.Index(None, "created_at"),
    sa.Index(None, "expires_at"),
)
"""Spec 002's table, plus `expires_at` (see the module's docstring). Created by 0005_caching."""

_C = cache_entries.c
KEY_CHUNK = 500
"""Keys per `IN (...)`: far below both dialects' bound-parameter limits."""
DEFAULT_PURGE_INTERVAL = 60.0
ENTITY = "cache entry"
INCREMENT_ATTEMPTS = 8


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _entry(value: Any, expires_at: datetime) -> Entry:
    return Entry(value, json.dumps(value, ensure_ascii=False, separators=(",", ":")), expires_at.timestamp())


def _upper_bound(prefix: str) -> str | None:
    """The smallest text above every text starting with `prefix` (None: no bound)."""
    while prefix:
        last = prefix[-1]
        if ord(last) < 0x10FFFF:
            return prefix[:-1] + chr(ord(last) + 1)
        prefix = prefix[:-1]
    return None


class SqlTier(Tier):
    level = "l3"

    def __init__(self, database: SqlDatabase, now: Now = time.time,
                 purge_interval: float = DEFAULT_PURGE_INTERVAL,
                 on_loop: Callable[[], SqlDatabase] | None = None) -> None:
        self._sync_engine = database.engine
        self._on_loop = on_loop
        """The same database on the async face's engine, for calls under its event loop (a
        greenlet, whose round trips are awaited): the sync engine there would block the loop."""
        self._now = now
        self._reads = ReadCounts()
        self._purge_interval = purge_interval
        self._purged_at = now()
        self._purge_lock = threading.Lock()

    @property
    def _engine(self) -> sa.Engine:
        if self._on_loop is not None and in_loop_greenlet():
            return self._on_loop().engine
        return self._sync_engine

    # -- reads ------------------------------------------------------------------------------
    def get(self, key: str) -> Entry | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        now = _moment(self._now())
        with translated(ENTITY), self._engine.begin() as connection:
            for start in range(0, len(keys), KEY_CHUNK):
                chunk = list(keys[start: start + KEY_CHUNK])
                touched = (
                    cache_entries.update()
                    .where(_C.cache_key.in_(chunk), _C.expires_at > now)
                    .values(accessed_at=now, access_count=_C.access_count + 1)
                    .returning(_C.cache_key, _C.value, _C.expires_at)
                )
                for key, value, expires_at in connection.execute(touched):
                    found[key] = _entry(value, expires_at)
        self._reads.record(len(found), len(keys) - len(found))
        return found

    def peek(self, key: str) -> Entry | None:
        query = sa.select(_C.value, _C.expires_at).where(_C.cache_key == key, _C.expires_at > _moment(self._now()))
        with translated(ENTITY), self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else _entry(row.value, row.expires_at)

    def exists(self, key: str) -> bool:
        query = sa.select(_C.id).where(_C.cache_key == key, _C.expires_at > _moment(self._now()))
        with translated(ENTITY), self._engine.connect() as connection:
            return connection.execute(query).first() is not None

    def _live_keys(self, connection: sa.Connection, pattern: str, now: datetime) -> list[str]:
        prefix = literal_prefix(pattern)
        query = sa.select(_C.cache_key).where(_C.expires_at > now)
        if prefix:
            query = query.where(_C.cache_key >= prefix)
            upper = _upper_bound(prefix)
            if upper is not None:
                query = query.where(_C.cache_key < upper)
        matches = glob_matcher(pattern)
        return [key for key in connection.execute(query).scalars() if matches(key)]

    def keys(self, pattern: str) -> list[str]:
        with translated(ENTITY), self._engine.connect() as connection:
            return self._live_keys(connection, pattern, _moment(self._now()))

    # -- writes -----------------------------------------------------------------------------
    def set_many(self, entries: Mapping[str, Entry]) -> None:
        now = self._now()
        created = _moment(now)
        rows = [
            {"id": new_id(), "cache_key": key, "value": entry.value,
             "ttl_seconds": max(1, round(entry.expires_at - now)), "expires_at": _moment(entry.expires_at),
             "created_at": created, "accessed_at": None, "access_count": 0}
            for key, entry in entries.items()
        ]
        if not rows:
            return
        with translated(ENTITY), self._engine.begin() as connection:
            statement = dialect_insert(connection, cache_entries)
            replaced = {name: statement.excluded[name] for name in
                        ("value", "ttl_seconds", "expires_at", "created_at", "accessed_at", "access_count")}
            connection.execute(statement.on_conflict_do_update(index_elements=["cache_key"], set_=replaced), rows)
        self._purge_if_due(now)

    def delete(self, keys: Sequence[str]) -> int:
        removed = 0
        now = _moment(self._now())
        with translated(ENTITY), self._engine.begin() as connection:
            for start in range(0, len(keys), KEY_CHUNK):
                chunk = list(keys[start: start + KEY_CHUNK])
                gone = connection.execute(
                    cache_entries.delete().where(_C.cache_key.in_(chunk)).returning(_C.expires_at)
                ).scalars().all()
                removed += sum(1 for expires_at in gone if expires_at > now)
        return removed

    def delete_matching(self, pattern: str) -> int:
        now = _moment(self._now())
        with translated(ENTITY), self._engine.connect() as connection:
            doomed = self._live_keys(connection, pattern, now)
        return self.delete(doomed)

    def increment(self, key: str, by: int, expires_at: float) -> int:
        for _ in range(INCREMENT_ATTEMPTS):
            try:
                return self._increment_once(key, by, expires_at)
            except _RaceLost:
                continue
        raise StorageUnavailable(f"increment of {key!r} lost {INCREMENT_ATTEMPTS} races in a row")

    def _increment_once(self, key: str, by: int, expires_at: float) -> int:
        now = self._now()
        with translated(ENTITY), self._engine.begin() as connection:
            # The row lock (PostgreSQL) or the write lock taken at BEGIN (SQLite) makes this atomic.
            row = connection.execute(
                sa.select(_C.value, _C.expires_at).where(_C.cache_key == key).with_for_update()
            ).first()
            live = row is not None and row.expires_at.timestamp() > now
            current = row.value if row is not None and live else 0
            if isinstance(current, bool) or not isinstance(current, int):
                raise ValidationError("key", "holds a value that is not an integer")
            total = current + by
            encode(total, "by")
            if live:
                connection.execute(cache_entries.update().where(_C.cache_key == key).values(value=total))
                return total
            fresh = {"value": total, "ttl_seconds": max(1, round(expires_at - now)),
                     "expires_at": _moment(expires_at), "created_at": _moment(now), "accessed_at": None,
                     "access_count": 0}
            if row is not None:  # expired: the counter starts again, with the new expiry
                connection.execute(cache_entries.update().where(_C.cache_key == key).values(**fresh))
                return total
            statement = dialect_insert(connection, cache_entries).values(id=new_id(), cache_key=key, **fresh)
            inserted = connection.execute(
                statement.on_conflict_do_nothing(index_elements=["cache_key"]).returning(_C.id)
            ).first()
            if inserted is None:
                raise _RaceLost  # a concurrent first increment inserted the row after our read
            return total

    def expire(self, key: str, expires_at: float) -> bool:
        now = self._now()
        with translated(ENTITY), self._engine.begin() as connection:
            changed = connection.execute(
                cache_entries.update()
                .where(_C.cache_key == key, _C.expires_at > _moment(now))
                .values(expires_at=_moment(expires_at), ttl_seconds=max(1, round(expires_at - now)))
            ).rowcount
        return bool(changed)

    def purge_expired(self) -> int:
        """Delete the rows past their expiry; how many."""
        with translated(ENTITY), self._engine.begin() as connection:
            return int(connection.execute(
                cache_entries.delete().where(_C.expires_at <= _moment(self._now()))
            ).rowcount)

    def _purge_if_due(self, now: float) -> None:
        if now - self._purged_at < self._purge_interval or not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._purged_at = now
            self.purge_expired()
        finally:
            self._purge_lock.release()

    # -- reporting --------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        return self._reads.hits, self._reads.misses

    def size(self) -> int:
        """Spec 002's `l3_count`: the live rows."""
        query = sa.select(sa.func.count()).select_from(cache_entries).where(_C.expires_at > _moment(self._now()))
        with translated(ENTITY), self._engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def health(self) -> HealthReport:
        try:
            self.size()
        except StorageError as error:
            return HealthReport("cache:sql", self._engine.dialect.name, False, str(error))
        return HealthReport("cache:sql", self._engine.dialect.name, True, "cache_entries reachable")


class _RaceLost(Exception):  # noqa: N818 - internal control flow, never escapes
    """A concurrent first increment inserted the row between our read and our insert: read again."""
