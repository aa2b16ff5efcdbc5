"""Spec 003's `AsyncInsert`: audit entries accepted without waiting, stored in batches behind the
caller by one background thread.

- **Bounded**: the queue holds `queue_size` entries; `submit` waits for room when it is full, so a
  storage slower than the callers slows the callers instead of growing memory without end.
- **Batched**: the writer takes what the queue holds, up to `batch_size`, waiting at most
  `flush_interval` for a batch to fill, and stores each organization's entries with one
  `insert_many` (one statement per batch on PostgreSQL) in a unit of work of that organization.
- **Never loses an accepted entry**: a transient failure (`StorageUnavailable`) is retried with
  backoff; a batch refused for another reason is stored entry by entry, so one bad entry (its
  organization deleted meanwhile) costs only itself, and is kept in `failures`. `flush()` returns
  once everything accepted before it is stored; `close()` flushes, then stops the thread, and runs
  at interpreter exit too (`atexit`), so a graceful shutdown loses nothing. A hard kill (SIGKILL, a
  crash, SIGTERM without a handler that exits Python) loses what the queue held: at most
  `queue_size` entries, and fewer the shorter `flush_interval`; use `insert` in the unit of work of
  the change for entries that must land with it.
"""

from __future__ import annotations

import atexit
import queue
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Final

from domain.control_plane.audit import AuditLog
from domain.shared.errors import Conflict, StorageUnavailable, UnitOfWorkInactive, ValidationError
from ports.control_plane import AuditWriter, ControlPlaneUnitOfWorkFactory

_STOP: Final = object()
RETRIES = 6
FIRST_BACKOFF_SECONDS = 0.05


class BatchingAuditWriter(AuditWriter):
    def __init__(self, units: ControlPlaneUnitOfWorkFactory, *, queue_size: int = 10_000, batch_size: int = 1_000,
                 flush_interval: float = 0.2, sleep: Callable[[float], None] = time.sleep) -> None:
        self._units = units
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._interval = flush_interval
        self._sleep = sleep
        self._failures: list[BaseException] = []
        self._closed = False
        self._closing = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="portside-audit-writer", daemon=True)
        self._thread.start()
        # A weak reference: the hook must not keep a discarded writer (and its thread) alive.
        reference = weakref.ref(self)

        def close_at_exit() -> None:
            writer = reference()
            if writer is not None:
                writer.close()

        self._exit_hook = close_at_exit
        atexit.register(close_at_exit)

    # -- AuditWriter --------------------------------------------------------------------------
    def submit(self, entry: AuditLog) -> None:
        if not isinstance(entry, AuditLog):
            raise ValidationError("entry", f"expected an AuditLog, got {type(entry).__name__}")
        # Under the lock `close` takes, so that no entry can be accepted after the stop marker: the
        # writer would never see it. A full queue holds the lock until the writer makes room.
        with self._closing:
            if self._closed:
                raise UnitOfWorkInactive("the audit writer is closed: it accepts no more entries")
            self._queue.put(entry)

    def flush(self) -> None:
        if self._thread.is_alive():
            self._queue.join()

    def close(self) -> None:
        with self._closing:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        atexit.unregister(self._exit_hook)

    @property
    def failures(self) -> list[BaseException]:
        return list(self._failures)

    # -- the background thread ----------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            batch: list[AuditLog] = []
            taken = 1
            if first is _STOP:
                stopping = True
            else:
                assert isinstance(first, AuditLog)
                batch.append(first)
                stopping, taken = self._fill(batch)
            try:
                if batch:
                    self._store(batch)
            finally:
                for _ in range(taken):
                    self._queue.task_done()

    def _fill(self, batch: list[AuditLog]) -> tuple[bool, int]:
        """Add queued entries to `batch` up to the batch size, waiting at most the flush interval for
        more; whether the stop marker was met, and how many queue items were taken."""
        deadline = time.monotonic() + self._interval
        taken = 1
        while len(batch) < self._batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            taken += 1
            if item is _STOP:
                return True, taken
            assert isinstance(item, AuditLog)
            batch.append(item)
        return False, taken

    def _store(self, batch: list[AuditLog]) -> None:
        by_organization: dict[uuid.UUID, list[AuditLog]] = {}
        for entry in batch:
            by_organization.setdefault(entry.tenant_id, []).append(entry)
        for organization, entries in by_organization.items():
            try:
                self._with_retries(organization, entries)
            except Exception:
                for entry in entries:
                    try:
                        self._with_retries(organization, [entry])
                    except Conflict as error:
                        if not self._stored(entry):  # a commit whose outcome was unknown did land
                            self._failures.append(error)
                    except Exception as error:
                        self._failures.append(error)

    def _stored(self, entry: AuditLog) -> bool:
        try:
            with self._units.for_tenant(entry.tenant_id) as uow:
                return uow.audit_logs.get_by_id(entry.id) == entry
        except Exception:
            return False

    def _with_retries(self, organization: uuid.UUID, entries: list[AuditLog]) -> None:
        delay = FIRST_BACKOFF_SECONDS
        for attempt in range(RETRIES):
            try:
                with self._units.for_tenant(organization) as uow:
                    uow.audit_logs.insert_many(entries)
                return
            except StorageUnavailable:
                if attempt == RETRIES - 1:
                    raise
                self._sleep(delay)
                delay *= 2
