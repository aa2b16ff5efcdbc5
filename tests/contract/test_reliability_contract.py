"""The reliability contract on memory, SQLite and PostgreSQL (the `backend` fixture's parameter),
and what only PostgreSQL can show: below the COPY threshold a batch of appends is one statement per
batch."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from adapters.rules.reliability import reliability_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.bulk import BATCH_SIZE
from application.testing.contracts.reliability import ReliabilityContract, new_event, seed_world
from tests.conftest import copying_from, on_each_postgres_driver


class TestReliability(ReliabilityContract):
    pass


@pytest.mark.postgres
@on_each_postgres_driver
def test_append_many_below_the_copy_threshold_sends_one_insert_per_batch(
    postgres_storage: SqlBackend, multi_row_inserts: list[str]
) -> None:
    events_sent = 2 * BATCH_SIZE + 1
    storage = copying_from(postgres_storage, events_sent + 1)
    postgres_uow = reliability_units(storage)
    world = seed_world(postgres_uow, tenancy_units(storage))
    multi_row_inserts.clear()  # the seeding's own
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = postgres_storage.database.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        events = [new_event(world.acme, world.checkout.id, f"key-{i}") for i in range(events_sent)]
        with postgres_uow.for_tenant(world.acme) as uow:
            results = uow.events.append_many(events)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert all(new for _, new in results)
    assert len(multi_row_inserts) == 3 and all("RETURNING" in sql for sql in multi_row_inserts)
    assert not [s for s in statements if s.lstrip().upper().startswith("INSERT")]  # no row went another way
