"""The Redis tier (L2): MGET and pipelines for bulk, SCAN + UNLINK for patterns, Lua for the
read-modify-write operations, never KEYS, never pickle.

A stored value is `<expiry in ms since the epoch>:<JSON text>`. Redis expires the key itself (the
key is written with `PX`, capped at the L2 cap); the value's own expiry inside is what lets a read
promote the entry into the memory tier with its remaining time to live from one MGET, with no PTTL
per key, and lets early recompute see when the value really expires. The expiry
is computed from this host's clock: hosts of one deployment are assumed to agree within the
accuracy of promotion (a skew shortens or lengthens an L1 copy's life by that skew, never past the
L1 cap).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from adapters.caching.tier import Entry, Now, ReadCounts, Tier
from adapters.redis.client import redis_unavailable
from domain.caching.values import decode
from domain.shared.errors import StorageUnavailable, ValidationError
from ports.health import HealthReport

if TYPE_CHECKING:
    import redis

SCAN_BATCH = 1000
MAX_EXACT_INTEGER = 2**53
"""Lua numbers are doubles: counters beyond this would lose units."""

# KEYS[1]: the key; ARGV: by, expiry in ms (for a new key), PX (for a new key).
_INCREMENT = """
local raw = redis.call('GET', KEYS[1])
local by = tonumber(ARGV[1])
if not raw then
  redis.call('SET', KEYS[1], ARGV[2] .. ':' .. ARGV[1], 'PX', ARGV[3])
  return ARGV[1]
end
local sep = string.find(raw, ':', 1, true)
local head = string.sub(raw, 1, sep - 1)
local body = string.sub(raw, sep + 1)
if not string.match(body, '^%-?%d+$') then
  return redis.error_reply('PORTSIDE_NOT_INTEGER')
end
local total = tonumber(body) + by
if total > 9007199254740992 or total < -9007199254740992 then
  return redis.error_reply('PORTSIDE_OUT_OF_RANGE')
end
local text = string.format('%.0f', total)
redis.call('SET', KEYS[1], head .. ':' .. text, 'KEEPTTL')
return text
"""
# KEYS[1]: the key; ARGV: the new expiry in ms, PX.
_EXPIRE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local sep = string.find(raw, ':', 1, true)
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. string.sub(raw, sep + 1), 'PX', ARGV[2])
return 1
"""


@contextmanager
def redis_errors(what: str) -> Iterator[None]:
    """A Redis failure as `StorageUnavailable` (the fallback tier's signal), never redis-py's."""
    import redis

    try:
        yield
    except redis.ResponseError as error:
        message = str(error)
        if "PORTSIDE_NOT_INTEGER" in message:
            raise ValidationError("key", "holds a value that is not an integer") from None
        if "PORTSIDE_OUT_OF_RANGE" in message:
            raise ValidationError("by", f"Redis counters stay within +-{MAX_EXACT_INTEGER}") from None
        raise StorageUnavailable(f"redis {what}: {error}") from error
    except redis.RedisError as error:
        raise redis_unavailable(f"redis {what}", error) from error


def _entry(raw: bytes | str) -> Entry:
    # One `partition` splits the expiry off (slicing twice cost a third of a json.loads); the body
    # stays bytes: json reads them as they are, the memory tier counts their length.
    final, _, body = (raw.encode() if isinstance(raw, str) else raw).partition(b":")
    return Entry(decode(body), body, int(final) / 1000)


class RedisTier(Tier):
    level = "l2"

    def __init__(self, client: redis.Redis, target: str = "redis", now: Now = time.time) -> None:
        self._client = client
        self._target = target
        self._now = now
        self._reads = ReadCounts()
        self._increment = client.register_script(_INCREMENT)
        self._expire = client.register_script(_EXPIRE)

    def _px(self, expires_at: float) -> tuple[int, int]:
        expiry_ms = int(expires_at * 1000)
        return expiry_ms, expiry_ms - int(self._now() * 1000)

    def get(self, key: str) -> Entry | None:
        with redis_errors("GET"):
            raw = self._client.get(key)
        self._reads.record(raw is not None, raw is None)
        return None if raw is None else _entry(raw)

    def peek(self, key: str) -> Entry | None:
        with redis_errors("GET"):
            raw = self._client.get(key)
        return None if raw is None else _entry(raw)

    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        if not keys:
            return {}
        with redis_errors("MGET"):
            raws = self._client.mget(keys)
        found = {key: _entry(raw) for key, raw in zip(keys, raws, strict=True) if raw is not None}
        self._reads.record(len(found), len(keys) - len(found))
        return found

    def set_many(self, entries: Mapping[str, Entry]) -> None:
        with redis_errors("SET"), self._client.pipeline(transaction=False) as pipeline:
            for key, entry in entries.items():
                _, px = self._px(entry.expires_at)
                if px > 0:  # the value's own expiry inside, this copy's (capped) one as PX
                    text = entry.text
                    final_ms = int(entry.final * 1000)
                    payload = f"{final_ms}:{text}" if isinstance(text, str) else b"%d:%b" % (final_ms, text)
                    pipeline.set(key, payload, px=px)
                else:
                    pipeline.unlink(key)  # already expired: what was there is outdated too
            pipeline.execute()

    def delete(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        with redis_errors("UNLINK"):
            return int(self._client.unlink(*keys))

    def _scan(self, pattern: str) -> Iterator[list[Any]]:
        cursor = 0
        while True:
            with redis_errors("SCAN"):
                cursor, batch = self._client.scan(cursor, match=pattern, count=SCAN_BATCH)
            if batch:
                yield batch
            if cursor == 0:
                return

    def keys(self, pattern: str) -> list[str]:
        return [key.decode() for batch in self._scan(pattern) for key in batch]

    def delete_matching(self, pattern: str) -> int:
        removed = 0
        for batch in self._scan(pattern):
            with redis_errors("UNLINK"):
                removed += int(self._client.unlink(*batch))
        return removed

    def increment(self, key: str, by: int, expires_at: float) -> int:
        expiry_ms, px = self._px(expires_at)
        with redis_errors("increment"):
            return int(self._increment(keys=[key], args=[by, expiry_ms, max(px, 1)]))

    def expire(self, key: str, expires_at: float) -> bool:
        expiry_ms, px = self._px(expires_at)
        with redis_errors("expire"):
            return bool(self._expire(keys=[key], args=[expiry_ms, max(px, 1)]))

    def exists(self, key: str) -> bool:
        with redis_errors("EXISTS"):
            return bool(self._client.exists(key))

    def counts(self) -> tuple[int, int]:
        return self._reads.hits, self._reads.misses

    def size(self) -> int:
        """DBSIZE, as spec 002 reports it: every key of the Redis database, the cache's and others'."""
        with redis_errors("DBSIZE"):
            return int(self._client.dbsize())

    def ping(self) -> None:
        with redis_errors("PING"):
            self._client.ping()

    def health(self) -> HealthReport:
        try:
            self.ping()
        except StorageUnavailable as error:
            return HealthReport("cache:redis", self._target, False, str(error))
        return HealthReport("cache:redis", self._target, True, "answers PING")
