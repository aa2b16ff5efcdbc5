"""PromQL text built from checked names and escaped values, never from a caller's raw text.

Metric and label names reach here validated (`domain/metrics/names.py`), so they are written as
they are; label values are written as PromQL string literals with backslash, quote and newline
escaped, so no value can close its string and add a matcher (another tenant's, say).
"""

from __future__ import annotations

from datetime import timedelta

from domain.metrics.names import TENANT_LABEL, Labels


def string_literal(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def selector(name: str, tenant: str, wanted: Labels) -> str:
    """`name{tenant="...",k="v"}`: the tenant's matcher comes first and is always there."""
    matchers = [(TENANT_LABEL, tenant), *wanted]
    return name + "{" + ",".join(f"{label}={string_literal(value)}" for label, value in matchers) + "}"


def duration(millis: int) -> str:
    return f"{millis}ms"


def at(millis: int) -> str:
    """The `@` modifier's instant, in seconds with milliseconds exact."""
    return f"@ {millis // 1000}.{millis % 1000:03d}"


def rfc3339(millis: int) -> str:
    """An API time parameter, exact to the millisecond."""
    from domain.metrics.time_range import from_millis

    moment = from_millis(millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def last_in_steps(series: str, step_ms: int) -> str:
    """The last sample of each step `(t - step, t]`. Range selectors of Prometheus 2 include both
    ends, so the window is a millisecond shorter than the step (Prometheus 3's are open on the left)."""
    return f"last_over_time({series}[{duration(step_ms - 1)}])"


def latest(series: str, history: timedelta) -> str:
    return f"max(last_over_time({series}[{duration(int(history.total_seconds() * 1000))}]))"


def quantile_of_increase(buckets: str, quantile: float, start_ms: int, end_ms: int, history: timedelta) -> str:
    """`histogram_quantile` over each bucket's count at the end less its count at the start (its whole
    count when it had none at the start), never below zero; unlike `increase()`, no extrapolation,
    so the buckets are the same counts the SQL and memory stores use."""
    window = duration(int(history.total_seconds() * 1000))
    at_end = f"last_over_time({buckets}[{window}] {at(end_ms)})"
    at_start = f"last_over_time({buckets}[{window}] {at(start_ms)})"
    return (f"histogram_quantile({quantile!r}, sum by (le) "
            f"(clamp_min(({at_end} - {at_start}) or {at_end}, 0)))")
