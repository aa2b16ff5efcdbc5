"""`portside worker`'s log line: the same text as logging's own formatter, the time worked out once a second."""

from __future__ import annotations

import logging
import sys

from application.jobs.console import LineFormatter


def _record(created: float) -> logging.LogRecord:
    record = logging.LogRecord("portside.jobs", logging.INFO, __file__, 1, "job %s completed", ("j1",), None)
    record.created, record.msecs = created, (created - int(created)) * 1000
    return record


def test_the_line_is_the_standard_one_across_seconds() -> None:
    standard = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    ours = LineFormatter()
    for created in (1_780_000_000.001, 1_780_000_000.999, 1_780_000_001.5, 1_780_000_001.0, 1_780_003_600.25):
        assert ours.format(_record(created)) == standard.format(_record(created))


def test_every_line_of_a_message_gets_the_time_and_level() -> None:
    record = logging.LogRecord("portside.jobs", logging.INFO, __file__, 1, "%s", ("job a done\njob b done",), None)
    record.created, record.msecs = 1_780_000_000.25, 250.0
    first, second = LineFormatter().format(record).split("\n")
    prefix = logging.Formatter("%(asctime)s %(levelname)s").format(record)
    assert (first, second) == (f"{prefix} job a done", f"{prefix} job b done")


def test_a_traceback_follows_the_message_unprefixed() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("portside.jobs", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    first, second = LineFormatter().format(record).splitlines()[:2]
    assert first.endswith(" ERROR failed") and second == "Traceback (most recent call last):"
