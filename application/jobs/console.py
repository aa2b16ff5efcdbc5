"""`portside worker` and `portside jobs stats`."""

from __future__ import annotations

import gc
import importlib
import logging
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from application.console import render_table
from application.jobs.worker import Handler, JobContext, Worker, WorkerSettings
from domain.jobs.job import JobStatus
from domain.shared.errors import ValidationError


def noop(context: JobContext) -> None:
    """The `noop` job type of the built-in handlers: does nothing (benchmarks, smoke tests)."""


BUILTIN_HANDLERS: dict[str, Handler] = {"noop": noop}


def load_handlers(reference: str | None) -> Mapping[str, Handler]:
    """`module:attribute`, a mapping of job type to handler; None: the built-in ones."""
    if reference is None:
        return BUILTIN_HANDLERS
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValidationError("handlers", f"expected module:attribute, got {reference!r}")
    try:
        found: Any = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValidationError("handlers", f"cannot load {reference!r}: {error}") from None
    if not isinstance(found, Mapping) or not all(callable(handler) for handler in found.values()):
        raise ValidationError("handlers", f"{reference!r} is not a mapping of job type to handler")
    return found


class LineFormatter(logging.Formatter):
    """`time level message` on every line of the message (the worker logs the jobs of one
    acknowledgement in one record, a line per job), the time worked out once a second: a worker
    writes a line per job, and `time.strftime` was a fifth of what a line cost."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")
        self._second = -1
        self._text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        second = int(record.created)
        if second != self._second:  # a race between threads writes the same text twice: harmless
            self._text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = second
        return f"{self._text},{int(record.msecs):03d}"

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        prefix = f"{record.asctime} {record.levelname} "
        return prefix + record.message.replace("\n", "\n" + prefix)


@contextmanager
def _lean_log_records() -> Iterator[None]:
    """The worker's line holds no caller, thread or process, and it writes one per job: logging's
    own advice for records made often is not to gather them (the caller's frame walk alone was a
    tenth of a line). Put back afterwards: they are the process's settings."""
    saved = (logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    try:
        yield
    finally:
        logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing = saved


def run_worker(container: Any, args: Any) -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    settings = WorkerSettings(
        queue_name=args.queue, concurrency=args.concurrency, batch_size=args.batch_size,
        lease=timedelta(seconds=args.lease), heartbeat_interval=timedelta(seconds=args.heartbeat),
        idle_wait=args.idle_wait, rescue_interval=timedelta(seconds=args.heartbeat),
        **({"worker_id": args.worker_id} if args.worker_id else {}),
    )
    for name, value in (("concurrency", settings.concurrency), ("batch_size", settings.batch_size)):
        if value < 1:
            raise ValidationError(name, "must be at least 1")
    worker = Worker(container.jobs_unit_of_work(), load_handlers(args.handlers), settings, container.waker())

    def stop(signum: int, _frame: Any) -> None:
        logging.getLogger("portside.jobs").info("worker %s: %s, finishing the current jobs", settings.worker_id,
                                                signal.Signals(signum).name)
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger("portside.jobs").info("worker %s serving queue %s with %d threads", settings.worker_id,
                                            settings.queue_name, settings.concurrency)
    # Everything made so far (the container, the tables, the models' validators) lives as long as
    # the process: kept out of the collector's generations, a collection looks only at what the
    # jobs allocate (about a tenth less CPU per job in the drain bench).
    gc.collect()
    gc.freeze()
    with _lean_log_records():
        counts = worker.run()
    logging.getLogger("portside.jobs").info("worker %s stopped: %s", settings.worker_id, counts)
    return 0


def print_stats(container: Any, queue_name: str | None) -> int:
    stats = container.get_job_stats()(queue_name)
    rows = [[status.value, str(stats.counts[status])] for status in JobStatus]
    rows.append(["total", str(stats.total)])
    print(f"queue {queue_name or '(all)'}")
    print(render_table(["status", "jobs"], rows))
    return 0
