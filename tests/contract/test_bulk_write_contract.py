"""The bulk-write contract on memory, SQLite and PostgreSQL (the `backend` fixture's parameter). Its
batches are below PostgreSQL's COPY threshold: tests/contract/test_copy_path_contract.py binds it
again with every batch going through COPY."""

from application.testing.contracts.bulk_writes import BulkWriteContract


class TestBulkWrites(BulkWriteContract):
    pass
