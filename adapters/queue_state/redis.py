"""Queue state in Redis, shared by every process of the deployment.

A queue's order snapshot is a sorted set (`portside:jobs:order:<queue>`, each job id scored with
its place) beside a marker key (`portside:jobs:order-taken:<queue>`: an empty queue has a snapshot
too, and Redis keeps no empty set); both are replaced in one MULTI/EXEC, so a reader sees the old
snapshot or the new one, never half of one. Statistics are one JSON string per queue. Every key
expires with its snapshot.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.queue_state.arguments import counts, job_ids, queue_key, ttl_seconds
from adapters.redis.cache import redis_errors
from domain.shared.ids import parse_id
from ports.queue_state import QueueState, SnapshotRank

PREFIX = "portside:jobs"
ZADD_CHUNK = 10_000


def _order_key(queue: str) -> str:
    return f"{PREFIX}:order:{queue}"


def _taken_key(queue: str) -> str:
    return f"{PREFIX}:order-taken:{queue}"


def _stats_key(queue: str) -> str:
    return f"{PREFIX}:stats-all" if queue == "" else f"{PREFIX}:stats:{queue}"


class RedisQueueState(QueueState):
    def __init__(self, client: Any) -> None:
        self._client = client

    def rank(self, queue_name: str, job_id: uuid.UUID) -> SnapshotRank:
        queue, key = queue_key(queue_name), parse_id(job_id, "job_id")
        with redis_errors("queue position"):
            pipeline = self._client.pipeline(transaction=False)
            pipeline.exists(_taken_key(queue))
            pipeline.zscore(_order_key(queue), str(key))
            taken, score = pipeline.execute()
        if not taken:
            return SnapshotRank(False, None)
        return SnapshotRank(True, None if score is None else int(score))

    def store_order(self, queue_name: str, job_ids_in_order: Sequence[uuid.UUID], ttl: float) -> None:
        queue, ids, seconds = queue_key(queue_name), job_ids(job_ids_in_order), ttl_seconds(ttl)
        milliseconds = max(1, int(seconds * 1000))
        with redis_errors("queue order snapshot"):
            pipeline = self._client.pipeline(transaction=True)
            pipeline.delete(_order_key(queue))
            for start in range(0, len(ids), ZADD_CHUNK):
                chunk = ids[start: start + ZADD_CHUNK]
                pipeline.zadd(_order_key(queue), {str(job_id): start + offset + 1
                                                  for offset, job_id in enumerate(chunk)})
            if ids:
                pipeline.pexpire(_order_key(queue), milliseconds)
            pipeline.set(_taken_key(queue), "1", px=milliseconds)
            pipeline.execute()

    def stats(self, queue_name: str | None) -> dict[str, int] | None:
        queue = queue_key(queue_name, optional=True)
        with redis_errors("queue statistics"):
            raw = self._client.get(_stats_key(queue))
        if raw is None:
            return None
        found = json.loads(raw)
        return {str(name): int(count) for name, count in found.items()}

    def store_stats(self, queue_name: str | None, status_counts: Mapping[str, int], ttl: float) -> None:
        queue, checked, seconds = queue_key(queue_name, optional=True), counts(status_counts), ttl_seconds(ttl)
        with redis_errors("queue statistics"):
            self._client.set(_stats_key(queue), json.dumps(checked), px=max(1, int(seconds * 1000)))

    def forget(self, queue_name: str | None) -> None:
        queue = queue_key(queue_name, optional=True)
        with redis_errors("queue state"):
            keys = [_stats_key(queue)] if queue == "" else [_order_key(queue), _taken_key(queue), _stats_key(queue)]
            self._client.delete(*keys)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
