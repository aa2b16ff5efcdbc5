"""The cache port's contract: what every `Cache` does, whatever its tiers.

Bind with a `cache_provider` fixture answering a `CacheProvider` over empty tiers (closed by the
fixture). The same suite runs on memory, Redis, SQLite, PostgreSQL and the multi-level cache.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from application.testing.racing import race
from domain.shared.errors import ValidationError
from ports.caching import Cache, CacheProvider

TENANT = uuid.UUID("0190a000-0000-7000-8000-000000000001")
OTHER_TENANT = uuid.UUID("0190a000-0000-7000-8000-000000000002")


class Job(BaseModel):
    id: str
    status: str
    attempts: int


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


class CacheContract:
    @pytest.fixture
    def cache(self, cache_provider: CacheProvider) -> Cache:
        return cache_provider.for_tenant(TENANT)

    # -- values -----------------------------------------------------------------------------
    @pytest.mark.parametrize("value", [
        "text", "", 0, -7, 2**62, 1.5, True, False, [1, "two", None], {"a": {"b": [1, 2]}, "ü": "ñ"},
    ])
    def test_a_json_value_reads_back_equal(self, cache: Cache, value: Any) -> None:
        cache.set("value", value, ttl=60)
        assert cache.get("value") == value
        assert type(cache.get("value")) is type(value)

    def test_a_tuple_reads_back_as_the_json_array_it_is(self, cache: Cache) -> None:
        cache.set("pair", (1, (2, 3)), ttl=60)
        assert cache.get("pair") == [1, [2, 3]]

    def test_a_model_is_stored_as_json_and_read_back_as_the_model(self, cache: Cache) -> None:
        job = Job(id="j1", status="running", attempts=2)
        cache.set("job:j1", job, ttl=60)
        assert cache.get("job:j1") == {"id": "j1", "status": "running", "attempts": 2}
        assert cache.get("job:j1", Job) == job

    def test_a_missing_key_is_none_and_delete_says_whether_it_was_there(self, cache: Cache) -> None:
        assert cache.get("absent") is None
        assert cache.exists("absent") is False
        cache.set("present", 1, ttl=60)
        assert cache.exists("present") is True
        assert cache.delete("present") is True
        assert cache.delete("present") is False
        assert cache.get("present") is None

    def test_an_overwrite_replaces_the_value(self, cache: Cache) -> None:
        cache.set("key", {"v": 1}, ttl=60)
        cache.set("key", {"v": 2}, ttl=60)
        assert cache.get("key") == {"v": 2}

    def test_entries_expire_after_their_ttl(self, cache: Cache) -> None:
        # A TTL long enough that a loaded machine reads it back in time (0.3 s was not, once).
        cache.set("short", "gone soon", ttl=1.5)
        cache.set("long", "stays", ttl=60)
        assert cache.get("short") == "gone soon"
        time.sleep(1.8)
        assert cache.get("short") is None
        assert cache.exists("short") is False
        assert cache.get_keys("*") == ["long"]

    # -- bulk -------------------------------------------------------------------------------
    def test_get_many_answers_the_present_keys_only(self, cache: Cache) -> None:
        cache.set_many({"a": 1, "b": [2], "c": {"three": 3}}, ttl=60)
        assert cache.get_many(["a", "c", "missing", "b"]) == {"a": 1, "b": [2], "c": {"three": 3}}
        assert cache.get_many([]) == {}

    def test_delete_many_removes_the_keys_and_counts_those_present(self, cache: Cache) -> None:
        cache.set_many({"a": 1, "b": 2, "c": 3}, ttl=60)
        assert cache.delete_many(["a", "c", "missing", "a"]) == 2
        assert cache.get_keys("*") == ["b"]
        assert cache.delete_many([]) == 0
        for bad in ("a", None, [""], [1]):
            with pytest.raises(ValidationError):
                cache.delete_many(bad)  # type: ignore[arg-type]
        assert cache.get("b") == 2

    # -- patterns ---------------------------------------------------------------------------
    def test_invalidate_pattern_deletes_the_matching_keys_and_counts_them(self, cache: Cache) -> None:
        cache.set_many({"workspace:1:docs": 1, "workspace:1:users": 2, "workspace:2:docs": 3, "other": 4}, ttl=60)
        assert cache.invalidate_pattern("workspace:1:*") == 2
        assert cache.get_keys("*") == ["other", "workspace:2:docs"]
        assert cache.invalidate_pattern("workspace:1:*") == 0

    def test_get_keys_follows_redis_globs(self, cache: Cache) -> None:
        cache.set_many({"a1": 1, "b1": 1, "c1": 1, "a22": 1, "x*y": 1, "[z]": 1}, ttl=60)
        assert cache.get_keys("?1") == ["a1", "b1", "c1"]
        assert cache.get_keys("[ab]*") == ["a1", "a22", "b1"]
        assert cache.get_keys("[^a]1") == ["b1", "c1"]
        assert cache.get_keys("[a-b]?") == ["a1", "b1"]
        assert cache.get_keys("x\\*y") == ["x*y"]
        assert cache.get_keys("\\[z\\]") == ["[z]"]

    def test_tenants_never_see_each_others_keys(self, cache_provider: CacheProvider) -> None:
        mine, theirs = cache_provider.for_tenant(TENANT), cache_provider.for_tenant(OTHER_TENANT)
        mine.set("shared:name", "mine", ttl=60)
        theirs.set("shared:name", "theirs", ttl=60)
        cache_provider.system().set("shared:name", "global", ttl=60)
        assert mine.get("shared:name") == "mine"
        assert mine.invalidate_pattern("*") == 1
        assert theirs.get("shared:name") == "theirs"
        assert theirs.get_keys("*") == ["shared:name"]
        assert cache_provider.system().get("shared:name") == "global"

    # -- counters and expiry ------------------------------------------------------------------
    def test_increment_counts_from_zero_and_keeps_the_expiry(self, cache: Cache) -> None:
        assert cache.increment("counter", 5, ttl=60) == 5
        assert cache.increment("counter") == 6
        assert cache.increment("counter", -10) == -4
        assert cache.get("counter") == -4

    def test_increment_of_a_value_that_is_not_an_integer_is_refused(self, cache: Cache) -> None:
        cache.set("name", "text", ttl=60)
        with pytest.raises(ValidationError) as raised:
            cache.increment("name")
        assert raised.value.field == "key"
        assert cache.get("name") == "text"

    def test_concurrent_increments_lose_nothing(self, cache: Cache) -> None:
        assert race(lambda _: [cache.increment("hits", ttl=60) for _ in range(25)], range(8)) == []
        assert cache.get("hits") == 200

    def test_expire_sets_a_new_ttl(self, cache: Cache) -> None:
        cache.set("key", "value", ttl=60)
        assert cache.expire("key", 0.3) is True
        assert cache.expire("missing", 10) is False
        time.sleep(0.6)
        assert cache.get("key") is None

    # -- get_or_set -------------------------------------------------------------------------
    def test_get_or_set_loads_once_then_serves_the_cached_value(self, cache: Cache) -> None:
        calls: list[int] = []

        def load() -> dict[str, int]:
            calls.append(1)
            return {"answer": 42}

        assert cache.get_or_set("answer", load, ttl=60) == {"answer": 42}
        assert cache.get_or_set("answer", load, ttl=60) == {"answer": 42}
        assert len(calls) == 1

    def test_a_loader_answering_none_is_not_cached(self, cache: Cache) -> None:
        calls: list[int] = []

        def load() -> None:
            calls.append(1)

        assert cache.get_or_set("nothing", load, ttl=60) is None
        assert cache.get_or_set("nothing", load, ttl=60) is None
        assert len(calls) == 2
        assert cache.exists("nothing") is False

    def test_concurrent_misses_call_the_loader_once(self, cache: Cache) -> None:
        calls: list[int] = []
        answers: list[Any] = []

        def load() -> str:
            calls.append(1)
            time.sleep(0.2)
            return "computed"

        assert race(lambda _: answers.append(cache.get_or_set("hot", load, ttl=60)), range(32)) == []
        assert len(calls) == 1
        assert answers == ["computed"] * 32

    def test_early_recompute_refreshes_a_value_close_to_expiry(self, cache: Cache) -> None:
        cache.set("config", {"version": 1}, ttl=2)
        fresh = cache.get_or_set("config", lambda: {"version": 2}, ttl=60, early_recompute=5)
        assert fresh == {"version": 2}
        assert cache.get_or_set("config", lambda: {"version": 3}, ttl=60, early_recompute=5) == {"version": 2}

    def test_a_failing_loader_reaches_the_caller_and_caches_nothing(self, cache: Cache) -> None:
        def fail() -> str:
            raise RuntimeError("database down")

        with pytest.raises(RuntimeError):
            cache.get_or_set("key", fail, ttl=60)
        assert cache.exists("key") is False

    # -- reporting --------------------------------------------------------------------------
    def test_stats_count_hits_and_misses(self, cache: Cache) -> None:
        assert cache.get("key") is None
        cache.set("key", "value", ttl=60)
        assert cache.get("key") == "value"
        stats = cache.get_stats()
        assert (stats.hits, stats.misses) == (1, 1)
        assert stats.l1_size + stats.l2_size + stats.l3_count >= 1
        assert stats.tiers and all(line.name in {"l1", "l2", "l3"} for line in stats.tiers)

    def test_health_reports_every_tier_reachable(self, cache: Cache) -> None:
        reports = cache.health()
        assert reports and all(report.reachable for report in reports)

    # -- bad input --------------------------------------------------------------------------
    @pytest.mark.parametrize(("key", "reason"), [
        ("", "empty"), (42, "not text"), (None, "not text"), ("x" * 401, "too long"), ("a\x00b", "NUL"),
        ("\ud800", "lone surrogate"),
    ])
    def test_a_bad_key_is_refused_naming_it(self, cache: Cache, key: Any, reason: str) -> None:
        for call in (lambda: cache.get(key), lambda: cache.set(key, 1), lambda: cache.delete(key),
                     lambda: cache.increment(key), lambda: cache.get_or_set(key, lambda: 1)):
            with pytest.raises(ValidationError) as raised:
                call()
            assert raised.value.field == "key", reason

    @pytest.mark.parametrize("ttl", [-1, 0, -0.5, float("nan"), float("inf"), True, "60", 10**12])
    def test_a_bad_ttl_is_refused(self, cache: Cache, ttl: Any) -> None:
        with pytest.raises(ValidationError) as raised:
            cache.set("key", 1, ttl=ttl)
        assert raised.value.field == "ttl"
        with pytest.raises(ValidationError):
            cache.expire("key", ttl)
        assert cache.exists("key") is False

    @pytest.mark.parametrize("value", [
        {1, 2}, b"bytes", object(), float("nan"), 2**70, {"nested": {1: "int key"}}, None, "nul\x00",
        _nested(70),
    ])
    def test_a_value_json_cannot_hold_is_refused(self, cache: Cache, value: Any) -> None:
        with pytest.raises(ValidationError) as raised:
            cache.set("key", value, ttl=60)
        assert raised.value.field == "value"
        with pytest.raises(ValidationError):
            cache.set_many({"other": value}, ttl=60)
        assert cache.get_keys("*") == []

    def test_other_bad_arguments_are_refused(self, cache: Cache) -> None:
        with pytest.raises(ValidationError) as raised:
            cache.invalidate_pattern("")
        assert raised.value.field == "pattern"
        with pytest.raises(ValidationError) as raised:
            cache.increment("counter", True)
        assert raised.value.field == "by"
        with pytest.raises(ValidationError) as raised:
            cache.get_many("not-a-list")
        assert raised.value.field == "keys"
        with pytest.raises(ValidationError) as raised:
            cache.get_or_set("key", "not callable")  # type: ignore[arg-type]
        assert raised.value.field == "loader"
