"""The control-plane contract on memory, SQLite and PostgreSQL (the `backend` fixture's parameter)."""

from __future__ import annotations

from application.testing.contracts.control_plane import ControlPlaneContract


class TestControlPlane(ControlPlaneContract):
    pass
