"""One Redis client for both faces: redis-py's sync client on a plain thread, `redis.asyncio` under
the async face.

The cache's Redis code (the tier, the key lock, the invalidation bus) is written once, against the
sync client's methods. Under the async face it runs in a greenlet on the event loop
(`adapters/asynchronous/runners.py: GreenletRunner`), where a blocking socket read would stop the
loop: there `CooperativeRedis` sends each command through a `redis.asyncio` client of the same
settings and awaits the reply (`adapters/cooperative.py`), so the greenlet waits and the loop runs
on. A `redis.asyncio` connection belongs to the loop that opened it, so each loop gets its own
client (dropped with the loop).
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from adapters.cooperative import await_here, in_loop_greenlet

if TYPE_CHECKING:
    import redis
    import redis.asyncio


class CooperativeRedis:
    """The sync client's interface; each call goes to the sync client, or, under a loop, to that
    loop's `redis.asyncio` client with its reply awaited."""

    def __init__(self, client: redis.Redis, async_client: Callable[[], redis.asyncio.Redis]) -> None:
        self.sync = client
        self._make_async = async_client
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary())

    def on_loop(self) -> redis.asyncio.Redis:
        """The running loop's async client, made on its first use."""
        loop = asyncio.get_running_loop()
        client = self._by_loop.get(loop)
        if client is None:
            client = self._by_loop[loop] = self._make_async()
        return client

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not in_loop_greenlet():
            return getattr(self.sync, name)
        return _bridged(getattr(self.on_loop(), name))

    def pipeline(self, transaction: bool = True) -> Any:
        if not in_loop_greenlet():
            return self.sync.pipeline(transaction=transaction)
        return _BridgedPipeline(self.on_loop().pipeline(transaction=transaction))

    def register_script(self, script: str) -> CooperativeScript:
        return CooperativeScript(self, script)

    async def aclose(self) -> None:
        """Close the running loop's async client (on that loop: its connections are the loop's)."""
        client = self._by_loop.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def close(self) -> None:
        self.sync.close()


class CooperativeScript:
    """A Lua script registered on both faces: `script(keys=..., args=...)` as redis-py's `Script`."""

    def __init__(self, owner: CooperativeRedis, source: str) -> None:
        self._owner = owner
        self._sync = owner.sync.register_script(source)
        self._source = source
        self._by_client: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def __call__(self, keys: list[Any] | None = None, args: list[Any] | None = None) -> Any:
        if not in_loop_greenlet():
            return self._sync(keys=keys, args=args)
        client = self._owner.on_loop()
        script = self._by_client.get(client)
        if script is None:
            script = self._by_client[client] = client.register_script(self._source)
        return await_here(script(keys=keys, args=args))


def _bridged(member: Any) -> Any:
    """`member` (an async client's attribute), its calls' awaitable results awaited."""
    if not callable(member):
        return member

    def call(*args: Any, **kwargs: Any) -> Any:
        result = member(*args, **kwargs)
        return await_here(result) if inspect.isawaitable(result) else result

    return call


class _BridgedPipeline:
    """A `redis.asyncio` pipeline used as the sync one is: `with client.pipeline() as p: p.set(...);
    p.execute()`. Queuing a command is sync on both; `execute` and the reset at the end are awaited."""

    def __init__(self, pipeline: Any) -> None:
        self._pipeline = pipeline

    def __enter__(self) -> _BridgedPipeline:
        return self

    def __exit__(self, *_exc: object) -> None:
        await_here(self._pipeline.reset())

    def __getattr__(self, name: str) -> Any:
        member = getattr(self._pipeline, name)
        if not callable(member):
            return member

        def call(*args: Any, **kwargs: Any) -> Any:
            result = member(*args, **kwargs)
            if result is self._pipeline:  # a queued command returns the pipeline, for chaining
                return self
            return await_here(result) if inspect.isawaitable(result) else result

        return call
