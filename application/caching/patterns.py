"""Spec 004's caching patterns, each a line in a service.

- Cache-aside: `get_or_set_record(cache, key, loader, model=Job)` or the `@cache_aside(...)`
  decorator: the cached value, else the loader's, stored. A loader answering None ("no such
  record") is not cached.
- Write-through: `write_through(cache, key, record)` after the database write has committed (from
  `uow.after_commit`, so the cache never holds what a rolled-back transaction wrote).
- Workspace invalidation: `invalidate_workspace(cache, workspace_id)` drops `workspace:<id>:*`.

Records are cached under `record_key(kind, id)` (`job:<id>`), so the helpers work with any
repository whose `get_by_id` returns a pydantic aggregate; the jobs context uses them as is once it
lands (`get_or_set_record(caches.for_tenant(t), record_key("job", job_id), lambda:
uow.jobs.get_by_id(job_id), model=Job)`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from pydantic import BaseModel

from domain.caching.glob import escape_glob
from ports.caching import Cache

M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")
R = TypeVar("R")


def record_key(kind: str, record_id: object) -> str:
    """`job:0190...`: one key per record, the same in every helper."""
    return f"{kind}:{record_id}"


def get_or_set_record(cache: Cache, key: str, loader: Callable[[], M | None], model: type[M],
                      ttl: float | None = None, *, early_recompute: float | None = None) -> M | None:
    """The record from the cache, else from `loader` (cached unless None), as a `model`."""
    found: Any = cache.get_or_set(key, loader, ttl, early_recompute=early_recompute)
    if found is None or isinstance(found, model):
        return found
    return model.model_validate(found)


def write_through(cache: Cache, key: str, value: Any, ttl: float | None = None) -> None:
    """The new state into the cache, as the database has it now."""
    cache.set(key, value, ttl)


def invalidate_workspace(cache: Cache, workspace_id: object) -> int:
    """Every entry of the workspace (`workspace:<id>:*`); how many there were."""
    return cache.invalidate_pattern(f"workspace:{escape_glob(str(workspace_id))}:*")


def cache_aside(cache_for: Callable[P, Cache], key: Callable[P, str], *, ttl: float | None = None,
                early_recompute: float | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorates a loader: `cache_for(*args)` picks the (tenant's) cache, `key(*args)` the key.

    ```python
    @cache_aside(lambda tenant, up: caches.for_tenant(tenant), lambda tenant, up: f"config:{up}", ttl=300)
    def effective_config(tenant, up): ...
    ```
    The decorated function answers JSON data (a model comes back as its JSON object: use
    `get_or_set_record` to have the model)."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def cached(*args: P.args, **kwargs: P.kwargs) -> R:
            cache = cache_for(*args, **kwargs)
            return cache.get_or_set(key(*args, **kwargs), lambda: function(*args, **kwargs), ttl,
                                    early_recompute=early_recompute)

        return cached

    return decorate
