"""`portside demo`: one scenario per bounded context, run on the configured backend."""

from __future__ import annotations

from collections.abc import Callable

from application.console import Report
from application.container import Container
from application.demo import control_plane, processing, reliability, tenancy

Scenario = Callable[[Container, Report], None]

SCENARIOS: dict[str, Scenario] = {
    "tenancy": tenancy.run,
    "reliability": reliability.run,
    "processing": processing.run,
    "control_plane": control_plane.run,
}
