"""`portside demo`: one scenario per bounded context, run on the configured backend."""

from __future__ import annotations

from collections.abc import Callable

from application.console import Report
from application.container import Container
from application.demo import caching, control_plane, jobs, metrics, processing, reliability, tenancy

Scenario = Callable[[Container, Report], None]

SCENARIOS: dict[str, Scenario] = {
    "tenancy": tenancy.run,
    "reliability": reliability.run,
    "processing": processing.run,
    "jobs": jobs.run,
    "metrics": metrics.run,
    "caching": caching.run,
    "control_plane": control_plane.run,
}
