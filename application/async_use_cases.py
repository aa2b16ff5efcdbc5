"""Awaitable use cases: a sync use case (`application/*/use_cases.py`) awaited through a runner.

A use case opens its own units of work. Awaited inside an `async with` block of the same task, it
runs in that task's session and so joins the block's transaction, as a sync use case called inside
a `with` block does; awaited alone, it runs in a context of its own and commits on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar

from ports.async_unit_of_work import SyncRunner

P = ParamSpec("P")
R = TypeVar("R")


class AwaitableUseCase(Generic[P, R]):
    def __init__(self, use_case: Callable[P, R], runner: SyncRunner) -> None:
        self.use_case = use_case
        """The sync use case: its rules, its units of work."""
        self._runner = runner

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self._runner.call(self.use_case, *args, **kwargs)
