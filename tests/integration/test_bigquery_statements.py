"""What the BigQuery adapter sends, checked on the emulator through a recording client (a subclass of
the real client: the emulator answers every statement).

Every statement is a query job whose values are all named parameters (no quoted text at all), with
the `maximum_bytes_billed` cap; nothing is streamed. "Concurrent update" refusals are retried with
jittered backoff. And the SQL means what the memory adapter's conditions mean: the same data, queried
the same way on both, gives the same answer.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from adapters.bigquery.backend import BigQueryBackend
from adapters.bigquery.client import BigQuerySettings
from adapters.bigquery.database import BigQueryDatabase
from adapters.bigquery.querying import Parameters, Runner
from adapters.bigquery.schema import drop_schema, ensure_schema
from adapters.memory.backend import MemoryBackend
from adapters.records.crud import Crud
from adapters.records.store import Query
from adapters.rules.processing import processing_units
from application.testing.contracts.processing_world import complete, new_purchase, seed_world, submit
from domain.processing.execution import Execution, ExecutionStatus
from domain.processing.filters import ExecutionFilter, PurchasedProcessorFilter
from domain.processing.subscriptions import PurchasedProcessor, SubscriptionStatus
from domain.shared.errors import Conflict, StorageError, StorageUnavailable
from domain.shared.filters import Condition, Operator
from domain.shared.pagination import CursorPageRequest, OffsetPageRequest
from domain.shared.sorting import Sort
from ports.processing import ProcessingUnitOfWorkFactory
from tests.servers import BigQueryEmulator

pytestmark = pytest.mark.bigquery


class RecordingClient(bigquery.Client):
    """The real client, noting every query job and every streaming or load call it is asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, bigquery.QueryJobConfig | None]] = []
        self.streamed: list[str] = []
        self.refuse_next: list[str] = []
        """Statement prefixes to refuse once each with a "concurrent update" error before sending."""

    def query(self, query: str, job_config: bigquery.QueryJobConfig | None = None, *args: Any,
              **kwargs: Any) -> bigquery.QueryJob:
        self.sent.append((query, job_config))
        for prefix in self.refuse_next:
            if query.startswith(prefix):
                self.refuse_next.remove(prefix)
                raise exceptions.BadRequest(  # type: ignore[no-untyped-call]
                    "Could not serialize access to table p:d.processing_commits due to concurrent update")
        return super().query(query, job_config, *args, **kwargs)

    def insert_rows(self, *args: Any, **kwargs: Any) -> Any:
        self.streamed.append("insert_rows")
        return super().insert_rows(*args, **kwargs)

    def insert_rows_json(self, *args: Any, **kwargs: Any) -> Any:
        self.streamed.append("insert_rows_json")
        return super().insert_rows_json(*args, **kwargs)

    def load_table_from_json(self, *args: Any, **kwargs: Any) -> Any:
        self.streamed.append("load_table_from_json")
        return super().load_table_from_json(*args, **kwargs)


@pytest.fixture
def settings(bigquery_emulator: BigQueryEmulator) -> BigQuerySettings:
    return BigQuerySettings(project=bigquery_emulator.project, dataset=f"statements_{uuid.uuid4().hex[:12]}",
                            endpoint=bigquery_emulator.endpoint, maximum_bytes_billed=123_456_789)


@pytest.fixture
def recording(settings: BigQuerySettings) -> Iterator[RecordingClient]:
    client = RecordingClient(project=settings.project, credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                             client_options=ClientOptions(api_endpoint=settings.endpoint))
    ensure_schema(client, settings)
    yield client
    drop_schema(client, settings)
    client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def factory(recording: RecordingClient, settings: BigQuerySettings) -> ProcessingUnitOfWorkFactory:
    sleeps: list[float] = []
    database = BigQueryDatabase(recording, settings, runner=Runner(recording, settings, sleep=sleeps.append))
    return processing_units(BigQueryBackend(database))


def _workload(factory: ProcessingUnitOfWorkFactory) -> None:
    """Every kind of statement the adapter makes: reads of each shape, inserts, updates, deletes,
    commits, a refused commit and its diagnosis."""
    world = seed_world(factory)
    with factory.for_tenant(world.acme) as uow:
        first = complete(uow, submit(uow, world.bank_up, {"n": 1}, 1), {"monthly_revenues": [1.5]}, 2)
        second = complete(uow, submit(uow, world.bank_up, {"n": 2}, 3), {"monthly_revenues": [2.5]}, 4)
    with factory.for_tenant(world.acme) as uow:
        uow.executions.mark_execution_superseded(first.id, second.id)
        uow.processors.update_current_executions_list(world.bank_up.id, [second.id])
        assert [e.id for e in uow.executions.get_active_executions(world.bank_up.id)] == [second.id]
        assert [e.id for e in uow.executions.get_execution_chain(first.id)] == [first.id, second.id]
        assert uow.executions.find_execution_by_hash(world.bank_up.id, first.payload_hash) == (
            uow.executions.get_by_id(first.id))
        assert uow.processors.get_effective_config(world.bank_up.id)["currency"] == "EUR"
        assert uow.processors.get_processor_by_name("p_bank_statement", world.acme) == world.bank
        completed = ExecutionFilter(status=ExecutionStatus.COMPLETED)
        page = uow.executions.list_by_cursor(completed, Sort.parse("-created_at"), CursorPageRequest(limit=1))
        assert page.next_cursor is not None
        uow.executions.list_by_cursor(sort=Sort.parse("-created_at"), page=CursorPageRequest(1, page.next_cursor))
        assert uow.executions.list_and_count(page=OffsetPageRequest(limit=1, offset=1)).total == 2
        assert uow.processors.purchased.count(PurchasedProcessorFilter(status=SubscriptionStatus.ACTIVE)) == 2
        store = cast(Crud[Execution, ExecutionFilter], uow.executions).store
        assert store.count_by("status") == {ExecutionStatus.COMPLETED: 2}
        assert store.find(Query((Condition("failed_reason", Operator.IS_NULL, True),
                                 Condition("processor", Operator.CONTAINS, "BANK")))) != []
        uow.processors.purchased.delete(world.credit.id)
    payload = {"documents": ["raced"]}
    first_unit = factory.for_tenant(world.acme)

    def racer() -> None:
        with factory.for_tenant(world.acme) as uow:
            submit(uow, world.bank_up, payload)
            first_unit.commit()

    with first_unit:
        submit(first_unit, world.bank_up, payload)
        with pytest.raises(Conflict):
            contextvars.Context().run(racer)


def test_every_statement_is_a_query_job_with_named_parameters_only(
    factory: ProcessingUnitOfWorkFactory, recording: RecordingClient, settings: BigQuerySettings
) -> None:
    _workload(factory)
    assert recording.streamed == []
    kinds = {sql.split()[0] for sql, _ in recording.sent}
    assert kinds == {"SELECT", "INSERT", "UPDATE"}
    for sql, config in recording.sent:
        assert config is not None, sql
        names = [parameter.name for parameter in config.query_parameters]
        assert all(names), sql  # named, never positional
        assert set(re.findall(r"@(\w+)", sql)) == set(names), sql  # each one used, none missing
        assert "'" not in sql and '"' not in sql, sql  # no text value was put into the statement
        assert config.maximum_bytes_billed == settings.maximum_bytes_billed
        assert config.use_legacy_sql is False


def test_concurrent_update_refusals_are_retried_with_jittered_backoff(
    recording: RecordingClient, settings: BigQuerySettings
) -> None:
    sleeps: list[float] = []
    runner = Runner(recording, settings, attempts=4, backoff_seconds=0.5, sleep=sleeps.append)
    params = Parameters()
    recording.refuse_next = ["SELECT", "SELECT"]
    assert runner.run(f"SELECT {params.scalar('INT64', 41)} + 1 AS answer", params).rows == [{"answer": 42}]
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0

    sleeps.clear()
    recording.refuse_next = ["SELECT"] * 4
    with pytest.raises(StorageUnavailable, match="concurrent update"):
        runner.run(f"SELECT {params.scalar('INT64', 1)} AS one", params)
    assert len(sleeps) == 3

    sleeps.clear()
    with pytest.raises(StorageError) as refused:  # a bad statement is not retried, and nothing of google leaks
        runner.run("SELECT no_such_column FROM UNNEST([1]) AS x", Parameters())
    assert not isinstance(refused.value, StorageUnavailable) and sleeps == []


def test_a_publication_refused_for_a_concurrent_update_is_retried(
    factory: ProcessingUnitOfWorkFactory, recording: RecordingClient
) -> None:
    world = seed_world(factory)
    recording.sent.clear()
    recording.refuse_next = ["UPDATE"]
    with factory.for_tenant(world.acme) as uow:
        created = submit(uow, world.bank_up, {"n": 1})
    with factory.for_tenant(world.acme) as uow:
        assert uow.executions.get_by_id(created.id) == created
    updates = [sql for sql, _ in recording.sent if sql.startswith("UPDATE")]
    assert len(updates) == 2 and updates[0] == updates[1]  # refused once, then sent again as it was


# -- the same answers as the memory adapter -----------------------------------------------------
NAMES = ["alpha", "Alpha", "ALPHA beta", "beta", "Zulu", "zulu", "éclair", "Éclair", "✓ done", "a", "ab", "b"]

LISTINGS: list[tuple[str, tuple[Condition, ...], Sort]] = [
    ("everything by name", (), Sort.parse("name")),
    ("names descending", (), Sort.parse("-name")),
    ("contains folds ASCII only", (Condition("name", Operator.CONTAINS, "ALPHA"),), Sort.parse("name")),
    ("contains keeps other letters exact", (Condition("name", Operator.CONTAINS, "é"),), Sort.parse("name")),
    ("greater than by code point", (Condition("name", Operator.GT, "Zulu"),), Sort.parse("name")),
    ("at most", (Condition("name", Operator.LTE, "b"),), Sort.parse("-name")),
    ("in", (Condition("name", Operator.IN, ("a", "b", "missing")),), Sort.parse("name")),
    ("not equal", (Condition("status", Operator.NE, "active"),), Sort.parse("name")),
    ("booleans sort false first", (), Sort.parse("auto,name")),
    ("null test", (Condition("purchased_by", Operator.IS_NULL, True),), Sort.parse("-purchased_at,name")),
]


@pytest.mark.parametrize(("case", "conditions", "sort"), LISTINGS, ids=[case[0] for case in LISTINGS])
def test_listings_answer_as_the_memory_adapter_does(
    factory: ProcessingUnitOfWorkFactory, case: str, conditions: tuple[Condition, ...], sort: Sort
) -> None:
    org = uuid.uuid4()
    purchases = [new_purchase(org, f"p_item_{i}", i % 4, name=name, auto=bool(i % 2),
                              status=SubscriptionStatus.DISABLED if i % 3 == 0 else SubscriptionStatus.ACTIVE,
                              purchased_by=None if i % 5 else uuid.uuid4())
                 for i, name in enumerate(NAMES)]
    memory = processing_units(MemoryBackend())
    answers: dict[str, list[list[uuid.UUID]]] = {}
    for label, backend in (("memory", memory), ("bigquery", factory)):
        with backend.for_tenant(org) as uow:
            uow.processors.purchased.bulk_create(purchases[:6])
        with backend.for_tenant(org) as uow:
            uow.processors.purchased.bulk_create(purchases[6:])  # pending: merged with the committed rows
            store = cast(Crud[PurchasedProcessor, PurchasedProcessorFilter], uow.processors.purchased).store
            whole = [p.id for p in store.find(Query(conditions, sort))]
            limited = [p.id for p in store.find(Query(conditions, sort, limit=3))]
            answers[label] = [whole, limited]
    assert answers["bigquery"] == answers["memory"], case
    assert answers["memory"][0], case  # the case selects something


def test_cursor_pages_walk_as_on_memory(factory: ProcessingUnitOfWorkFactory) -> None:
    org = uuid.uuid4()
    purchases = [new_purchase(org, f"p_item_{i}", i % 3, name=name) for i, name in enumerate(NAMES)]
    memory = processing_units(MemoryBackend())
    walks: dict[str, list[uuid.UUID]] = {}
    for label, backend in (("memory", memory), ("bigquery", factory)):
        with backend.for_tenant(org) as uow:
            uow.processors.purchased.bulk_create(purchases[::2])
        with backend.for_tenant(org) as uow:
            uow.processors.purchased.bulk_create(purchases[1::2])
            walked: list[uuid.UUID] = []
            cursor: str | None = None
            for _ in range(len(NAMES)):
                page = uow.processors.purchased.list_by_cursor(sort=Sort.parse("-purchased_at,name"),
                                                               page=CursorPageRequest(limit=5, after=cursor))
                walked.extend(p.id for p in page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
            offset = uow.processors.purchased.list_and_count(sort=Sort.parse("name"),
                                                             page=OffsetPageRequest(limit=4, offset=5))
            walks[label] = [*walked, *(p.id for p in offset.items), uuid.UUID(int=offset.total)]
    assert walks["bigquery"] == walks["memory"]
    assert len(walks["memory"]) == len(NAMES) + 4 + 1
