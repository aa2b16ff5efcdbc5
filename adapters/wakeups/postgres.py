"""Wake-ups through PostgreSQL's LISTEN/NOTIFY, for workers of a queue in several processes."""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable
from typing import Any

from adapters.wakeups.local import LocalWaker
from ports.wakeups import Waker

log = logging.getLogger("portside.jobs")


class PostgresWaker(Waker):
    """LISTEN/NOTIFY on channel `portside_jobs` (the payload is the queue name): `notify` sends a
    NOTIFY on a connection of its own; one listener thread per process receives them."""

    CHANNEL = "portside_jobs"

    def __init__(self, connect: Callable[[], Any]) -> None:
        """`connect`: opens a new driver connection, psycopg2's or psycopg 3's (the listener keeps one
        for itself)."""
        self._connect = connect
        self._local = LocalWaker()
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        self._sender: Any = None
        self._listener = threading.Thread(target=self._listen, name="portside-jobs-listen", daemon=True)
        self._listener.start()

    def notify(self, queue_name: str) -> None:
        self._local.notify(queue_name)
        try:
            with self._send_lock:
                if self._sender is None or self._sender.closed:
                    self._sender = self._connect()
                    self._sender.autocommit = True
                with self._sender.cursor() as cursor:
                    cursor.execute("SELECT pg_notify(%s, %s)", (self.CHANNEL, queue_name))
        except Exception as error:  # a lost wake-up costs one poll interval, never the job
            log.warning("could not send a job wake-up: %s", error)
            self._sender = None

    def wait(self, queue_name: str, timeout: float) -> bool:
        return self._local.wait(queue_name, timeout)

    def _listen(self) -> None:
        while not self._stop.is_set():
            connection: Any = None
            try:
                connection = self._connect()
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute(f"LISTEN {self.CHANNEL}")
                while not self._stop.is_set():
                    if select.select([connection], [], [], 0.5) == ([], [], []):
                        continue
                    for payload in _received(connection):
                        self._local.notify(payload)
            except Exception as error:
                log.warning("job wake-up listener lost its connection: %s", error)
                self._stop.wait(1.0)
            finally:
                if connection is not None:
                    connection.close()

    def close(self) -> None:
        self._stop.set()
        with self._send_lock:
            if self._sender is not None:
                self._sender.close()


def _received(connection: Any) -> list[str]:
    """The payloads of the notifications that arrived on `connection`, whose socket is readable.
    psycopg2 reads them with `poll()` into its `notifies` list; psycopg 3 has no such list, its
    `notifies()` generator yields what has arrived (a zero timeout: what is there now, no wait)."""
    if isinstance(connection.notifies, list):  # psycopg2
        connection.poll()
        payloads = [notification.payload for notification in connection.notifies]
        connection.notifies.clear()
        return payloads
    return [notification.payload for notification in connection.notifies(timeout=0)]
