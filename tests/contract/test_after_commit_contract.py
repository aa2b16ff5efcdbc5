"""After-commit hooks on memory, SQLite and PostgreSQL (the `backend` fixture's parameter)."""

from application.testing.contracts.after_commit import AfterCommitContract


class TestAfterCommit(AfterCommitContract):
    pass
