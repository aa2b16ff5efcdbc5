"""The jobs contract on memory, SQLite and PostgreSQL (the `backend` fixture's parameter)."""

from __future__ import annotations

from application.testing.contracts.jobs import JobsContract


class TestJobs(JobsContract):
    pass
