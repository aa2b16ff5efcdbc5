"""What a backend check reports, for `portside doctor` and service health endpoints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HealthReport:
    backend: str
    target: str
    reachable: bool
    detail: str
    configured: bool = True
    """False: the backend is not set up at all (reported as such, never as unreachable)."""
