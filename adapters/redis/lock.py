"""A lock across processes on Redis: `SET name token NX PX ttl`, released only by its holder
(compare-and-delete in Lua), expiring on its own if the holder dies."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from adapters.redis.cache import redis_errors
from domain.shared.errors import StorageUnavailable

if TYPE_CHECKING:
    import redis

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisKeyLock:
    def __init__(self, client: redis.Redis, prefix: str = "portside:lock:",
                 usable: Callable[[], bool] = lambda: True) -> None:
        self._client = client
        self._usable = usable
        """False while the cache serves from its fallback: no connection attempt per miss then."""
        self._prefix = prefix
        self._release = client.register_script(_RELEASE)

    def acquire(self, name: str, ttl_seconds: float) -> str | None:
        if not self._usable():
            raise StorageUnavailable("redis is unreachable (the cache serves from memory)")
        token = secrets.token_hex(8)
        with redis_errors("lock"):
            taken = self._client.set(self._prefix + name, token, nx=True, px=max(1, int(ttl_seconds * 1000)))
        return token if taken else None

    def release(self, name: str, token: str) -> None:
        with redis_errors("unlock"):
            self._release(keys=[self._prefix + name], args=[token])
