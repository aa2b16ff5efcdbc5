"""Shared helpers for the benchmark scripts in bench/.

Performance is reported as ratios, never as absolute timings: every Portside operation is timed
side by side, in the same process and against the same server, with a baseline doing the same work
on the raw driver. Absolute numbers move with the machine, the load and the kernel; the ratio is
what a change to Portside moves, so the ratio is what carries a target. A missed target is
reported ("met?" = no), not raised: wall-clock assertions would make the suite flaky.

Each script writes its own section of docs/benchmarks.md (replacing the previous one), under a
machine block describing the machine of the latest run.
"""

from __future__ import annotations

import cProfile
import gc
import io
import os
import platform
import pstats
import re
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"

DEFAULT_REPETITIONS = 5
DEFAULT_WARMUP = 1
# Above this (max - min) / median spread a run is flagged as noisy in the docs.
NOISY_SPREAD = 0.25


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall-clock seconds of each timed repetition (warm-ups excluded)."""

    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        # The median, not the mean or the minimum: one run disturbed by autovacuum, a checkpoint
        # or a noisy neighbour shifts neither it nor the ratio much.
        return statistics.median(self.seconds)

    @property
    def spread(self) -> float:
        """(max - min) / median: how noisy the repetitions were."""
        return (max(self.seconds) - min(self.seconds)) / self.median


def _time_once(run: Callable[[], object], setup: Callable[[], object] | None) -> float:
    if setup is not None:
        setup()
    # Collect before, not during: garbage left by the previous contender must not be charged to
    # this one, but the garbage this run makes is part of its own cost, so the collector stays on.
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def time_side_by_side(
    contenders: Mapping[str, Callable[[], object]],
    *,
    repetitions: int = DEFAULT_REPETITIONS,
    warmup: int = DEFAULT_WARMUP,
    setup: Callable[[], object] | None = None,
) -> dict[str, Timing]:
    """Time each contender `repetitions` times; return the timings by name.

    Contenders take turns (round-robin, the order rotating every round) instead of running all
    repetitions back to back, so a slow drift of the machine (thermal throttling, a neighbour's
    load, the server's caches warming) hits all of them alike instead of biasing the ratio.
    `setup` runs untimed before every run (including warm-ups), e.g. to empty a table.
    """
    if repetitions < 1:
        raise ValueError("repetitions must be at least 1")
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            _time_once(contenders[name], setup)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(repetitions):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_time_once(contenders[name], setup))
    return {name: Timing(tuple(values)) for name, values in samples.items()}


def profile(run: Callable[[], object], *, top: int = 30) -> str:
    """Run once under cProfile; the `top` functions by own time, then by cumulative time."""
    profiler = cProfile.Profile()
    profiler.runcall(run)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """One table row: Portside against one baseline on the same work."""

    operation: str
    rows: int
    """Operations (lookups, inserted rows) in one timed run: ops/s = rows / median seconds."""
    baseline: Timing
    portside: Timing
    target: float | None
    """The minimum portside/baseline ratio; None marks a row that is for information only."""

    @property
    def baseline_ops(self) -> float:
        return self.rows / self.baseline.median

    @property
    def portside_ops(self) -> float:
        return self.rows / self.portside.median

    @property
    def ratio(self) -> float:
        # Throughput ratio, so higher is better and 1.0 means "as fast as the baseline".
        return self.portside_ops / self.baseline_ops

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target


def _ops(value: float) -> str:
    return f"{value:,.0f}"


def ratio_table(comparisons: Sequence[Comparison]) -> str:
    """The comparisons as a Markdown table."""
    lines = [
        "| operation | rows | baseline ops/s | portside ops/s | portside/baseline | target | met? |",
        "| --- | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for c in comparisons:
        target = "info" if c.target is None else f">= {c.target:.2f}x"
        met = "-" if c.met is None else ("yes" if c.met else "**no**")
        lines.append(
            f"| {c.operation} | {c.rows:,} | {_ops(c.baseline_ops)} | {_ops(c.portside_ops)} "
            f"| {c.ratio:.2f}x | {target} | {met} |"
        )
    return "\n".join(lines)


def spread_note(comparisons: Sequence[Comparison]) -> str:
    """One line on run-to-run noise, so a reader can tell a real change from jitter."""
    worst = max(max(c.baseline.spread, c.portside.spread) for c in comparisons)
    runs = len(comparisons[0].portside.seconds)
    note = f"Median of {runs} interleaved runs per contender; worst (max - min) / median spread: {worst:.0%}."
    if worst > NOISY_SPREAD:
        note += " Noisy: other work competed for the machine, so small ratio differences between runs mean little."
    return note


# --------------------------------------------------------------------------------------------
# Machine details
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Machine:
    cpu_model: str
    logical_cores: int
    usable_cores: int
    memory_gib: float
    os: str
    python: str
    sqlalchemy: str
    psycopg2: str
    pydantic: str
    postgresql: str
    load_average: tuple[float, float, float]
    """Taken before the run started (so not counting the run itself): other work on the machine is
    the usual cause of a noisy run."""

    @property
    def summary(self) -> str:
        """A one-line fingerprint, kept in each section: sections may come from different runs."""
        return (
            f"{self.cpu_model}, {self.usable_cores} cores, {self.memory_gib:.0f} GiB, Python {self.python}, "
            f"SQLAlchemy {self.sqlalchemy}, PostgreSQL {self.postgresql.split()[0]}, "
            f"load before run {self.load_average[0]:.2f}"
        )

    def markdown(self) -> str:
        rows = [
            ("CPU", self.cpu_model),
            ("Cores", f"{self.logical_cores} logical, {self.usable_cores} usable by this process"),
            ("Memory", f"{self.memory_gib:.1f} GiB"),
            ("OS", self.os),
            ("Python", self.python),
            ("SQLAlchemy", self.sqlalchemy),
            ("psycopg2", self.psycopg2),
            ("pydantic", self.pydantic),
            ("PostgreSQL server", self.postgresql),
            ("Load average before the run (1, 5, 15 min)", ", ".join(f"{load:.2f}" for load in self.load_average)),
        ]
        lines = ["| | |", "| --- | --- |", *(f"| {key} | {value} |" for key, value in rows)]
        return "\n".join(lines)


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    # x86 says "model name"; some ARM kernels only give "Hardware" or "Processor".
    for key in ("model name", "Hardware", "Processor"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.machine()


def _memory_gib() -> float:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^MemTotal:\s*(\d+) kB$", text, re.MULTILINE)
    return int(match.group(1)) / 1024**2 if match else 0.0


def load_average() -> tuple[float, float, float]:
    """Call before starting any work, for `machine_details`."""
    return os.getloadavg()


def machine_details(postgresql_version: str, load_before: tuple[float, float, float]) -> Machine:
    """Details of this machine; the server version comes from the running server (`SHOW server_version`)."""
    # Imported here so that run.py, which only needs the docs helpers, starts without the drivers.
    import psycopg2
    import pydantic
    import sqlalchemy

    logical = os.cpu_count() or 0
    # The affinity mask, not cpu_count, is what a container or taskset actually lets us use.
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    return Machine(
        cpu_model=_cpu_model(),
        logical_cores=logical,
        usable_cores=usable,
        memory_gib=_memory_gib(),
        os=f"{platform.system()} {platform.release()} ({platform.machine()})",
        python=platform.python_version(),
        sqlalchemy=sqlalchemy.__version__,
        psycopg2=str(psycopg2.__version__).split()[0],
        pydantic=pydantic.VERSION,
        postgresql=postgresql_version,
        load_average=load_before,
    )


# --------------------------------------------------------------------------------------------
# docs/benchmarks.md
# --------------------------------------------------------------------------------------------

_HEADER = """# Benchmarks

Generated by `python bench/run.py` (or one `python bench/<name>.py`); each script replaces its own
section. Every Portside operation is timed side by side with a raw-driver baseline doing the same
work, in the same process and against the same PostgreSQL server, and the result is the ratio
`portside ops/s / baseline ops/s` (1.00x = as fast as the baseline, higher is better). Absolute
ops/s depend on the machine and are only context. A missed target is reported, not failed.
"""

_MACHINE_START = "<!-- machine:start -->"
_MACHINE_END = "<!-- machine:end -->"


def _section_markers(bench: str) -> tuple[str, str]:
    return f"<!-- bench:{bench}:start -->", f"<!-- bench:{bench}:end -->"


def _block_pattern(start: str, end: str) -> re.Pattern[str]:
    return re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)


def read_section(bench: str, path: Path = DOCS_PATH) -> str | None:
    """The current text of a bench's section, or None if the file or the section is missing."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    match = _block_pattern(*_section_markers(bench)).search(text)
    return None if match is None else match.group(0)


def _replace_or_add(text: str, start: str, end: str, block: str, *, after_header: bool) -> str:
    pattern = _block_pattern(start, end)
    if pattern.search(text):
        # A function replacement, so that backslashes in the block are not read as group references.
        return pattern.sub(lambda _: block, text, count=1)
    if after_header:
        first_section = text.find("<!-- bench:")
        if first_section >= 0:
            return f"{text[:first_section]}{block}\n\n{text[first_section:]}"
    return f"{text.rstrip()}\n\n{block}\n"


def write_section(bench: str, body: str, machine: Machine, path: Path = DOCS_PATH) -> None:
    """Replace (or append) `bench`'s section of docs/benchmarks.md and refresh the machine block."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    machine_block = "\n".join(
        [_MACHINE_START, "## Machine (latest run)", "", f"Last updated: {now}.", "", machine.markdown(), _MACHINE_END]
    )
    start, end = _section_markers(bench)
    section = "\n".join(
        [
            start,
            f"## {bench}",
            "",
            f"Run {now} with `python bench/{bench}.py` on: {machine.summary}.",
            "",
            body.strip(),
            end,
        ]
    )
    try:
        text = path.read_text()
    except FileNotFoundError:
        text = _HEADER
    text = _replace_or_add(text, _MACHINE_START, _MACHINE_END, machine_block, after_header=True)
    text = _replace_or_add(text, start, end, section, after_header=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: an interrupted run must not leave a truncated file behind.
    temporary = path.with_suffix(".md.tmp")
    temporary.write_text(text)
    temporary.replace(path)


# -- helpers every PostgreSQL bench shares -----------------------------------------------------
RowT = TypeVar("RowT")


def batched(rows: Sequence[RowT], size: int) -> list[Sequence[RowT]]:
    """Slices of `size`: done before timing, so slicing is never measured."""
    return [rows[start: start + size] for start in range(0, len(rows), size)]


def connect_raw(dsn: str) -> Any:
    """A plain psycopg2 connection, the baseline's. UUIDs in and out as uuid.UUID, as SQLAlchemy's
    psycopg2 dialect sets up its own connections."""
    import psycopg2
    import psycopg2.extras

    connection = psycopg2.connect(dsn)
    psycopg2.extras.register_uuid(conn_or_curs=connection)
    return connection


def server_version(admin: Any) -> str:
    with admin.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = str(cursor.fetchone()[0])
    if not admin.autocommit:
        admin.commit()
    return version



def on_psycopg(url: str) -> str:
    """`url` (the test server's `postgresql+psycopg2://` URL) through psycopg 3 instead."""
    from sqlalchemy import make_url

    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def portside_database(url: str) -> Any:
    """Portside's SQL database as a service gets it from default settings: the same pool and the
    same timeouts (the client-side answer deadline included), so the bench measures their cost."""
    from adapters.sql.database import SqlDatabase
    from application.container import pool_settings
    from application.settings import Settings

    return SqlDatabase.from_url(url, pool_settings(Settings()))
