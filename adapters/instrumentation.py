"""The repository layer measuring itself: calls and latencies per repository method, in a collector.

Opt-in and cheap. Off (the default), a unit of work builds its repositories exactly as before: the
one added cost is reading a module attribute when a repository is first built in a block. On
(`instrument_repositories(RepositoryInstrumentation(collector))`), each repository a unit of work
builds is wrapped: every public method call counts into `portside_repository_operations_total
{context, repository, method, outcome}` and times into the histogram `portside_repository_operation_seconds
{context, repository, method}`. Any metrics backend stores the collector (`repository.save(collector.drain())`),
and `portside doctor` prints it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from domain.metrics.collector import MetricsCollector
from domain.metrics.platform import LATENCY_BUCKETS, REPOSITORY_LATENCY, REPOSITORY_OPERATIONS

R = TypeVar("R")



class RepositoryInstrumentation:
    def __init__(self, collector: MetricsCollector, timer: Callable[[], float] = time.perf_counter) -> None:
        self.collector = collector
        self._timer = timer

    def wrap(self, context: str, repository: str, target: R) -> R:
        proxy: Any = _Instrumented(self, context, repository, target)
        return proxy  # type: ignore[no-any-return]

    def record(self, tags: dict[str, str], outcome: str, seconds: float) -> None:
        self.collector.increment(REPOSITORY_OPERATIONS, {**tags, "outcome": outcome})
        self.collector.observe(REPOSITORY_LATENCY, seconds, tags, buckets=LATENCY_BUCKETS)

    def timed(self, tags: dict[str, str], method: Callable[..., Any]) -> Callable[..., Any]:
        timer = self._timer

        @wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            began = timer()
            try:
                result = method(*args, **kwargs)
            except BaseException as error:
                self.record(tags, type(error).__name__, timer() - began)
                raise
            self.record(tags, "ok", timer() - began)
            return result

        return call


class _Instrumented:
    """Stands in for a repository: public methods are timed, everything else is the repository's.
    `__class__` answers the repository's class, so `isinstance` checks hold."""

    def __init__(self, instrumentation: RepositoryInstrumentation, context: str, repository: str, target: Any) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_instrumentation", instrumentation)
        object.__setattr__(self, "_tags", {"context": context, "repository": repository})

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self._target)

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._target, name)
        if name.startswith("_") or not callable(found):
            return found
        timed = self._instrumentation.timed({**self._tags, "method": name}, found)
        object.__setattr__(self, name, timed)  # built once per method and repository
        return timed

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)


_active: RepositoryInstrumentation | None = None


def instrument_repositories(instrumentation: RepositoryInstrumentation | None) -> None:
    """Turn the instrumentation on for every unit of work of this process (None: off again)."""
    global _active
    _active = instrumentation


def active_instrumentation() -> RepositoryInstrumentation | None:
    return _active


def instrumented(unit_of_work: str, name: str, repository: R) -> R:
    """What `ContextUnitOfWork` keeps as its repository `name`: itself, or its instrumented stand-in."""
    instrumentation = _active
    if instrumentation is None:
        return repository
    return instrumentation.wrap(unit_of_work.removesuffix("Work").lower(), name, repository)
