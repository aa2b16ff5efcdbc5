"""The Redis client factory, with explicit timeouts and retries.

redis-py's defaults wait seconds on a dead server; a persistence layer should fail fast and retry
a bounded number of times with backoff, then raise `StorageUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.shared.errors import ConnectionLost, StorageTimeout, StorageUnavailable
from ports.health import HealthReport

if TYPE_CHECKING:
    import redis
    import redis.asyncio


@dataclass(frozen=True, slots=True)
class RedisSettings:
    url: str
    socket_timeout_seconds: float = 2.0
    connect_timeout_seconds: float = 2.0
    retries: int = 3
    backoff_cap_seconds: float = 0.5
    health_check_interval_seconds: int = 30
    max_connections: int = 50


def create_redis_client(settings: RedisSettings) -> redis.Redis:
    import redis
    from redis.retry import Retry

    return redis.Redis.from_url(settings.url, **_options(settings, Retry))


def create_async_redis_client(settings: RedisSettings) -> redis.asyncio.Redis:
    """The same client on `redis.asyncio`: the settings above, for one event loop."""
    import redis.asyncio
    from redis.asyncio.retry import Retry

    return redis.asyncio.Redis.from_url(settings.url, **_options(settings, Retry))


def _options(settings: RedisSettings, retry: type[Any]) -> dict[str, Any]:
    """Both clients' keyword arguments; `retry` is the client's own `Retry` class."""
    import redis
    from redis.backoff import ExponentialBackoff

    return {
        "socket_timeout": settings.socket_timeout_seconds,
        "socket_connect_timeout": settings.connect_timeout_seconds,
        "retry": retry(ExponentialBackoff(cap=settings.backoff_cap_seconds, base=0.02), settings.retries),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
        "health_check_interval": settings.health_check_interval_seconds,
        "max_connections": settings.max_connections,
    }


def check_redis(client: redis.Redis, target: str) -> HealthReport:
    import redis

    try:
        client.ping()
        info = client.info("server")
    except redis.RedisError as error:
        return HealthReport("redis", target, False, str(error))
    return HealthReport("redis", target, True, f"redis {info.get('redis_version', '?')}")


def ping_or_raise(client: redis.Redis) -> None:
    import redis

    try:
        client.ping()
    except redis.RedisError as error:
        raise redis_unavailable("redis", error) from error


def redis_unavailable(what: str, error: Exception) -> StorageUnavailable:
    """Portside's error for a Redis client's: its timeouts and lost connections told apart."""
    import redis

    if isinstance(error, redis.TimeoutError):
        return StorageTimeout(f"{what}: {error}")
    if isinstance(error, redis.ConnectionError):
        return ConnectionLost(f"{what}: {error}")
    return StorageUnavailable(f"{what}: {error}")
