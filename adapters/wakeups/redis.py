"""Wake-ups through Redis pub/sub (channel `portside:jobs:wake`, the payload is the queue name).

Redis is never the only copy of anything here: a wake-up lost while Redis is away costs the idle
workers one poll interval (their `timeout`), and the listener resubscribes once Redis answers.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from adapters.wakeups.local import LocalWaker
from ports.wakeups import Waker

log = logging.getLogger("portside.jobs")

CHANNEL = "portside:jobs:wake"


class RedisWaker(Waker):
    def __init__(self, client: Any) -> None:
        self._client = client
        self._local = LocalWaker()
        self._stop = threading.Event()
        self._warned = False
        self._listener = threading.Thread(target=self._listen, name="portside-jobs-redis", daemon=True)
        self._listener.start()

    def notify(self, queue_name: str) -> None:
        self._local.notify(queue_name)
        try:
            self._client.publish(CHANNEL, queue_name)
            self._warned = False
        except Exception as error:  # the workers poll meanwhile
            if not self._warned:
                log.warning("Redis unreachable for job wake-ups, workers fall back to polling: %s", error)
                self._warned = True

    def wait(self, queue_name: str, timeout: float) -> bool:
        return self._local.wait(queue_name, timeout)

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub: Any = None
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None and message.get("type") == "message":
                        data = message["data"]
                        self._local.notify(data.decode() if isinstance(data, bytes) else str(data))
            except Exception as error:
                log.debug("job wake-up subscription lost: %s", error)
                self._stop.wait(0.5)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # already broken
                        log.debug("closing a broken subscription failed", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        self._listener.join(timeout=2)
