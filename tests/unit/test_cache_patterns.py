"""Spec 004's caching patterns as services use them, on the memory tier."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from adapters.caching.assembly import CacheSettings, build_cache_space
from application.caching.patterns import (
    cache_aside,
    get_or_set_record,
    invalidate_workspace,
    record_key,
    write_through,
)
from ports.caching import Cache

TENANT = uuid.UUID("0190a000-0000-7000-8000-0000000000cc")


class Job(BaseModel):
    id: uuid.UUID
    status: str


def _cache() -> Cache:
    return build_cache_space(CacheSettings()).for_tenant(TENANT)


def test_a_record_comes_back_as_its_model_from_the_loader_and_from_the_cache() -> None:
    cache = _cache()
    job = Job(id=uuid.uuid4(), status="queued")
    loads: list[int] = []

    def load() -> Job:
        loads.append(1)
        return job

    key = record_key("job", job.id)
    assert key == f"job:{job.id}"
    assert get_or_set_record(cache, key, load, Job) == job
    assert get_or_set_record(cache, key, load, Job) == job
    assert loads == [1]
    assert get_or_set_record(cache, record_key("job", "missing"), lambda: None, Job) is None


def test_write_through_replaces_what_readers_get() -> None:
    cache = _cache()
    job = Job(id=uuid.uuid4(), status="queued")
    key = record_key("job", job.id)
    get_or_set_record(cache, key, lambda: job, Job)
    write_through(cache, key, job.model_copy(update={"status": "done"}))
    assert get_or_set_record(cache, key, lambda: job, Job) == job.model_copy(update={"status": "done"})


def test_workspace_invalidation_takes_the_workspace_only_even_with_glob_characters_in_its_id() -> None:
    cache = _cache()
    cache.set_many({"workspace:a*:x": 1, "workspace:ab:x": 2, "workspace:a:x": 3}, ttl=60)
    assert invalidate_workspace(cache, "a*") == 1
    assert cache.get_keys("*") == ["workspace:a:x", "workspace:ab:x"]


def test_the_decorator_caches_per_argument() -> None:
    cache = _cache()
    calls: list[str] = []

    @cache_aside(lambda name: cache, lambda name: f"greeting:{name}", ttl=60)
    def greet(name: str) -> str:
        calls.append(name)
        return f"hello {name}"

    assert [greet("ann"), greet("bob"), greet("ann")] == ["hello ann", "hello bob", "hello ann"]
    assert calls == ["ann", "bob"]
