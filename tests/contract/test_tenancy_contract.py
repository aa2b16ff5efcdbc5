"""The tenancy contract on memory, SQLite and PostgreSQL (the `backend` fixture's parameter)."""

from application.testing.contracts.tenancy import TenancyContract


class TestTenancy(TenancyContract):
    pass
