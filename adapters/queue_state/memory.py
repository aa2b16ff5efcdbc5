"""Queue state in process: what Redis holds, for one process (tests, the embedded default)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from adapters.queue_state.arguments import counts, job_ids, queue_key, ttl_seconds
from domain.shared.ids import parse_id
from ports.queue_state import QueueState, SnapshotRank

V = TypeVar("V")


class _Expiring(Generic[V]):
    """Values that vanish `ttl` seconds after they were stored, as Redis keys with an expiry do."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._values: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> V | None:
        found = self._values.get(key)
        if found is None:
            return None
        if found[0] <= self._now():
            del self._values[key]
            return None
        return found[1]

    def put(self, key: str, value: V, ttl: float) -> None:
        self._values[key] = (self._now() + ttl, value)

    def drop(self, key: str) -> None:
        self._values.pop(key, None)


class MemoryQueueState(QueueState):
    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._orders: _Expiring[dict[uuid.UUID, int]] = _Expiring(now)
        self._stats: _Expiring[dict[str, int]] = _Expiring(now)

    def rank(self, queue_name: str, job_id: uuid.UUID) -> SnapshotRank:
        queue, key = queue_key(queue_name), parse_id(job_id, "job_id")
        with self._lock:
            order = self._orders.get(queue)
        if order is None:
            return SnapshotRank(False, None)
        return SnapshotRank(True, order.get(key))

    def store_order(self, queue_name: str, job_ids_in_order: Sequence[uuid.UUID], ttl: float) -> None:
        queue, ids, seconds = queue_key(queue_name), job_ids(job_ids_in_order), ttl_seconds(ttl)
        with self._lock:
            self._orders.put(queue, {job_id: position for position, job_id in enumerate(ids, start=1)}, seconds)

    def stats(self, queue_name: str | None) -> dict[str, int] | None:
        queue = queue_key(queue_name, optional=True)
        with self._lock:
            found = self._stats.get(queue)
        return None if found is None else dict(found)

    def store_stats(self, queue_name: str | None, status_counts: Mapping[str, int], ttl: float) -> None:
        queue, checked, seconds = queue_key(queue_name, optional=True), counts(status_counts), ttl_seconds(ttl)
        with self._lock:
            self._stats.put(queue, checked, seconds)

    def forget(self, queue_name: str | None) -> None:
        queue = queue_key(queue_name, optional=True)
        with self._lock:
            self._orders.drop(queue)
            self._stats.drop(queue)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
