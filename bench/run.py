"""Run every benchmark script in bench/, each in its own process, and refresh docs/benchmarks.md.

`python bench/run.py [NAME ...]` runs bench/NAME.py for each NAME, or every bench/*.py except the
helpers (names starting with "_") and this file. Each script writes its own section of the docs.
The exit status is non-zero if any script failed or did not write its section; a missed
performance target is not a failure (the scripts report ratios, they do not assert timings).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from _harness import DOCS_PATH, REPO_ROOT, read_section

BENCH_DIR = Path(__file__).resolve().parent


def discover() -> list[Path]:
    return sorted(
        path
        for path in BENCH_DIR.glob("*.py")
        if not path.name.startswith("_") and path.resolve() != Path(__file__).resolve()
    )


def run_script(script: Path) -> str | None:
    """Run one script; None on success, otherwise why it failed."""
    before = read_section(script.stem)
    print(f"\n=== {script.stem} ===", flush=True)
    started = time.perf_counter()
    # A process per script: no import state, pool or leftover server carries over to the next
    # one, and a crash (or a leaked thread) in one cannot take the others down.
    completed = subprocess.run([sys.executable, str(script)], cwd=REPO_ROOT, check=False)
    print(f"=== {script.stem}: exit {completed.returncode} after {time.perf_counter() - started:.0f}s ===", flush=True)
    if completed.returncode != 0:
        return f"exited with {completed.returncode}"
    after = read_section(script.stem)
    # Each section carries its run time, so a fresh write always differs from the old one.
    if after is None or after == before:
        return f"did not write its section of {DOCS_PATH.relative_to(REPO_ROOT)}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="scripts to run (default: all)")
    args = parser.parse_args(argv)

    available = {script.stem: script for script in discover()}
    unknown = [name for name in args.names if name not in available]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}")
    scripts = [available[name] for name in args.names] if args.names else list(available.values())
    if not scripts:
        print("no benchmark scripts found", file=sys.stderr)
        return 1

    # Keep going after a failure: one broken benchmark should not hide the others' numbers.
    failures = {script.stem: reason for script in scripts if (reason := run_script(script)) is not None}
    print()
    for script in scripts:
        print(f"{script.stem}: {failures.get(script.stem, 'ok')}")
    if failures:
        return 1
    print(f"{DOCS_PATH.relative_to(REPO_ROOT)} updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
