"""Abstract contract suites, one per port.

Subclass a suite in a test module and provide its context's unit-of-work factory as a fixture on an
empty database: `tenancy_uow`, `reliability_uow` (plus `tenancy_uow` to seed tenants),
`processing_uow`; every test of the suite then runs on that adapter. Portside binds them to memory,
SQLite and PostgreSQL (and processing to BigQuery); a third-party adapter reuses them as-is.
"""
