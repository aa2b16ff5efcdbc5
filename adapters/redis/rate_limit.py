"""The per-minute call counter in Redis, shared by every process of a deployment.

INCR and EXPIRE go in one MULTI/EXEC pipeline: atomic, one round trip, and the key expires on its
own a minute after its window ends (no sweeper needed).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.rate_limit import rate_counter_arguments
from domain.shared.errors import StorageUnavailable
from ports.rate_limit import RateCounter

if TYPE_CHECKING:
    import redis

KEY_PREFIX = "portside:rate"
EXPIRY_SECONDS = 120


class RedisRateCounter(RateCounter):
    def __init__(self, client: redis.Redis, namespace: str = "global") -> None:
        self._client = client
        self._namespace = namespace

    def _key(self, key: str, window: datetime) -> str:
        return f"{KEY_PREFIX}:{self._namespace}:{key}:{int(window.timestamp())}"

    def hit(self, key: str, window: datetime) -> int:
        import redis

        name = self._key(*rate_counter_arguments(key, window))
        try:
            with self._client.pipeline(transaction=True) as pipeline:
                pipeline.incr(name)
                pipeline.expire(name, EXPIRY_SECONDS)
                count, _ = pipeline.execute()
        except redis.RedisError as error:
            raise StorageUnavailable(f"redis: {error}") from error
        return int(count)

    def count(self, key: str, window: datetime) -> int:
        import redis

        try:
            raw = self._client.get(self._key(*rate_counter_arguments(key, window)))
        except redis.RedisError as error:
            raise StorageUnavailable(f"redis: {error}") from error
        return int(raw) if raw is not None else 0
