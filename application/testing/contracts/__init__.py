"""Abstract contract suites, one per port.

Subclass a suite in a test module and provide a `uow_factory` fixture returning a
`UnitOfWorkFactory` on an empty database; every test of the suite then runs on that adapter.
Portside binds them to memory, SQLite and PostgreSQL; a third-party adapter reuses them as-is.
"""
