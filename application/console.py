"""Plain-text tables for the CLI: readable in a terminal and in a CI log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    body = [fmt(row) for row in cells] or ["| " + "(none)".ljust(sum(widths) + 3 * len(widths) - 3) + " |"]
    return "\n".join([line, fmt(list(headers)), line, *body, line])


class Report:
    """Where a demo scenario writes: headings, notes and tables."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def heading(self, text: str) -> None:
        self._out.write(f"\n== {text} ==\n")

    def note(self, text: str) -> None:
        self._out.write(f"  {text}\n")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self._out.write(render_table(headers, rows) + "\n")
