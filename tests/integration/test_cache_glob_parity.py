"""The memory tier's globs against Redis's own: the same patterns over the same keys, on a real
server, must select exactly the same keys."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import redis

from adapters.caching.memory import MemoryTier
from adapters.caching.tier import Entry
from domain.caching.glob import escape_glob, glob_matcher
from tests.servers import RedisServer

pytestmark = pytest.mark.redis

KEYS = [
    "a", "b", "ab", "abc", "abd", "aXc", "a-c", "a]c", "a[c", "a\\c", "a*c", "a?c", "a^c", "a!c", "ac", "acc",
    "x", "xy", "hello", "hallo", "hxllo", "heeeello", "workspace:1:docs", "workspace:12:docs", "ws:1",
    "é", "aé", "aéc", "日本", "-", "]", "[", "^", "\\", "*", "?", "a\nc", "zz", "Ab", "aB",
]
PATTERNS = [
    "*", "a*", "*c", "a?c", "a??", "?", "??", "[ab]", "[ab]*", "[^a]*", "[!a]*", "[a-c]*", "[c-a]*", "[a-]*",
    "[-a]*", "[]]", "[]a]*", "[\\]]*", "a[\\-]c", "a\\*c", "a\\?c", "a\\[c", "a\\\\c", "a[*]c", "\\", "a\\",
    "[", "a[", "[^", "a[^", "[abc", "a[b-", "h[ae]llo", "h[^e]llo", "h*llo", "h*l*o", "*:1:*", "workspace:1*",
    "**", "a**c", "?*", "*?", "[\\", "[a-\\]]*", "a?", "?é", "a?c", "a??c", "日*", "[日]*", "[^日]*", "a\nc",
    "[A-Z]*", "[a-Z]*", "[Z-a]*", "[z-a]", "\\a", "[\\a]", "[^\\]]", "*[", "*[^", "]", "^*", "[^]]*",
]


def _random_patterns(count: int) -> list[str]:
    alphabet = ["a", "b", "c", "-", "*", "?", "[", "]", "^", "\\", "é", "x"]
    chooser = random.Random(20260302)
    return ["".join(chooser.choice(alphabet) for _ in range(chooser.randint(1, 7))) for _ in range(count)]


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.mset({key: b"1" for key in KEYS})
    yield client
    client.flushdb()
    client.close()


def _redis_selects(client: redis.Redis, pattern: str) -> set[str]:
    return {key.decode() for key in client.scan_iter(match=pattern, count=1000)}


@pytest.mark.parametrize("pattern", [*PATTERNS, *_random_patterns(400)])
def test_memory_tier_selects_the_keys_redis_selects(client: redis.Redis, pattern: str) -> None:
    tier = MemoryTier()
    tier.set_many({key: Entry(1, "1", 4_000_000_000.0) for key in KEYS})
    expected = _redis_selects(client, pattern)
    assert set(tier.keys(pattern)) == expected
    assert {key for key in KEYS if glob_matcher(pattern)(key)} == expected


@pytest.mark.parametrize("text", KEYS)
def test_an_escaped_text_matches_only_itself(client: redis.Redis, text: str) -> None:
    assert _redis_selects(client, escape_glob(text)) == {text}
    assert [key for key in KEYS if glob_matcher(escape_glob(text))(key)] == [text]
