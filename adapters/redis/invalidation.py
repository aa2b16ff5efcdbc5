"""The invalidation bus over Redis pub/sub: what one process deletes, invalidates or overwrites,
every other process drops from its L1.

A listener thread per process. Messages from this process itself are ignored (it has already
dropped what it published). A subscription that breaks (Redis restarted, network lost) may have
missed messages: on resubscribing, the handlers are told to drop everything, so a process never
serves from its L1 what another invalidated while it was not listening.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from adapters.caching.multilevel import Invalidation
from adapters.redis.cache import redis_errors
from domain.shared.errors import StorageUnavailable

if TYPE_CHECKING:
    import redis

log = logging.getLogger("portside.cache")
LISTEN_TIMEOUT = 0.2
RETRY_SECONDS = 0.2


class RedisInvalidationBus:
    def __init__(self, client: redis.Redis, channel: str, usable: Callable[[], bool] = lambda: True) -> None:
        self._client = client
        self._usable = usable
        """False while the cache serves from its fallback: writes then publish nothing."""
        self.channel = channel
        self.origin = secrets.token_hex(8)
        self._handlers: list[Callable[[Invalidation], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribed = threading.Event()
        self._lock = threading.Lock()

    def publish(self, invalidation: Invalidation) -> None:
        if not self._usable():
            raise StorageUnavailable("redis is unreachable (the cache serves from memory)")
        message = json.dumps({"origin": self.origin, "keys": list(invalidation.keys), "pattern": invalidation.pattern})
        with redis_errors("PUBLISH"):
            self._client.publish(self.channel, message)

    def subscribe(self, handler: Callable[[Invalidation], None]) -> None:
        with self._lock:
            self._handlers.append(handler)
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="portside-cache-invalidations", daemon=True)
                self._thread.start()
        self._subscribed.wait(2.0)  # the first subscription is usually up before the first write

    def _deliver(self, invalidation: Invalidation) -> None:
        for handler in list(self._handlers):
            try:
                handler(invalidation)
            except Exception:  # one handler's failure must not stop the others or the thread
                log.exception("cache invalidation handler failed")

    def _listen(self) -> None:
        import redis

        lost = False
        while not self._stop.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self.channel)
                if lost:
                    self._deliver(Invalidation(everything=True))
                    lost = False
                self._subscribed.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=LISTEN_TIMEOUT)
                    if message is not None and message.get("type") == "message":
                        self._receive(message["data"])
            except (redis.RedisError, OSError, ValueError) as error:
                lost = True
                log.debug("cache invalidation subscription lost: %s", error)
                self._stop.wait(RETRY_SECONDS)
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()

    def _receive(self, data: bytes) -> None:
        try:
            body = json.loads(data)
        except ValueError:
            return
        if not isinstance(body, dict) or body.get("origin") == self.origin:
            return
        pattern = body.get("pattern")
        keys = body.get("keys") or []
        self._deliver(Invalidation(keys=tuple(str(key) for key in keys),
                                   pattern=pattern if isinstance(pattern, str) else None))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
