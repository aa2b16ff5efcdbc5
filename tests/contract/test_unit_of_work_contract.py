"""The unit-of-work contract on memory, SQLite and PostgreSQL (the `backend` fixture's parameter)."""

from application.testing.contracts.unit_of_work import UnitOfWorkContract


class TestUnitOfWork(UnitOfWorkContract):
    pass
