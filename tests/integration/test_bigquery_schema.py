"""`ensure_schema` against the BigQuery emulator: idempotent, and the tables it makes are partitioned by
DATE(created_at) and clustered by the tenant and the lookup key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from google.cloud import bigquery

from adapters.bigquery.client import BigQuerySettings, create_bigquery_client
from adapters.bigquery.schema import (
    COMMITS,
    TABLES,
    TENANT_BUCKETS,
    commits_table_object,
    drop_schema,
    ensure_schema,
    table_ref,
)
from domain.shared.errors import StorageError
from tests.servers import BigQueryEmulator

pytestmark = pytest.mark.bigquery

EXPECTED_CLUSTERING = {
    "purchased_processors": ["organization_id", "processor", "id"],
    "underwriting_processors": ["organization_id", "underwriting_id", "id"],
    "processor_executions": ["organization_id", "underwriting_processor_id", "payload_hash", "id"],
}


@pytest.fixture
def fresh(bigquery_emulator: BigQueryEmulator) -> Iterator[tuple[bigquery.Client, BigQuerySettings]]:
    settings = BigQuerySettings(project=bigquery_emulator.project, dataset=f"schema_{uuid.uuid4().hex[:12]}",
                                endpoint=bigquery_emulator.endpoint)
    client = create_bigquery_client(settings)
    yield client, settings
    drop_schema(client, settings)
    client.close()  # type: ignore[no-untyped-call]


def _tables(client: bigquery.Client, settings: BigQuerySettings) -> dict[str, bigquery.Table]:
    return {item.table_id: client.get_table(item.reference)
            for item in client.list_tables(f"{settings.project}.{settings.dataset}")}


def test_ensure_schema_is_idempotent(fresh: tuple[bigquery.Client, BigQuerySettings]) -> None:
    client, settings = fresh
    ensure_schema(client, settings)
    first = {name: [(f.name, f.field_type, f.mode) for f in table.schema] for name, table in
             _tables(client, settings).items()}
    ensure_schema(client, settings)  # again: nothing fails, nothing changes
    again = {name: [(f.name, f.field_type, f.mode) for f in table.schema] for name, table in
             _tables(client, settings).items()}
    assert first == again
    assert set(first) == {*TABLES, COMMITS}


def test_entity_tables_are_partitioned_by_day_of_creation_and_clustered(
    fresh: tuple[bigquery.Client, BigQuerySettings],
) -> None:
    client, settings = fresh
    ensure_schema(client, settings)
    tables = _tables(client, settings)
    for name, clustering in EXPECTED_CLUSTERING.items():
        table = tables[name]
        assert table.time_partitioning is not None, name
        assert (table.time_partitioning.field, table.time_partitioning.type_) == ("created_at", "DAY"), name
        assert table.clustering_fields == clustering, name
        columns = {f.name: (f.field_type, f.mode) for f in table.schema}
        assert columns["created_at"] == ("TIMESTAMP", "REQUIRED")
        assert columns["organization_id"] == ("STRING", "REQUIRED")
        assert columns["row_version"] == ("INT64", "REQUIRED") and columns["deleted"] == ("BOOL", "REQUIRED")
        assert columns["commit_id"] == ("STRING", "REQUIRED")
    executions = {f.name: (f.field_type, f.mode) for f in tables["processor_executions"].schema}
    assert executions["payload"] == ("JSON", "REQUIRED")
    assert executions["payload_hash"] == ("STRING", "REQUIRED")  # what deduplication compares, never the JSON
    assert executions["output"] == ("JSON", "NULLABLE")
    assert executions["document_revision_ids"] == ("STRING", "REPEATED")
    assert executions["run_cost_cents"] == ("INT64", "NULLABLE")
    underwriting = {f.name: (f.field_type, f.mode) for f in tables["underwriting_processors"].schema}
    assert underwriting["current_executions_list"] == ("STRING", "REPEATED")
    assert tables[COMMITS].clustering_fields == ["organization_id", "commit_id"]


def test_the_commit_log_is_range_partitioned_by_tenant_bucket(fresh: tuple[bigquery.Client, BigQuerySettings]) -> None:
    """What ensure_schema asks for. The emulator accepts `rangePartitioning` but does not keep it (its
    tables.get answers without it), so the request is what can be checked here."""
    _, settings = fresh
    wanted = commits_table_object(settings)
    assert wanted.range_partitioning is not None
    assert wanted.range_partitioning.field == "tenant_bucket"
    assert (wanted.range_partitioning.range_.start, wanted.range_partitioning.range_.end) == (0, TENANT_BUCKETS)
    assert wanted.range_partitioning.range_.interval == 1


def test_a_table_missing_a_column_is_reported(fresh: tuple[bigquery.Client, BigQuerySettings]) -> None:
    client, settings = fresh
    client.create_dataset(f"{settings.project}.{settings.dataset}")
    client.create_table(bigquery.Table(f"{settings.project}.{settings.dataset}.purchased_processors",
                                       schema=[bigquery.SchemaField("id", "STRING")]))
    with pytest.raises(StorageError, match="purchased_processors exists without the columns"):
        ensure_schema(client, settings)


@pytest.mark.parametrize(("project", "dataset", "table"), [
    ("portside-test", "processing", "tenants"),
    ("portside-test", "a-b", "processor_executions"),
    ("portside-test", "x`; DROP", "processor_executions"),
    ("Portside", "processing", "processor_executions"),
])
def test_only_allow_listed_names_reach_a_statement(project: str, dataset: str, table: str) -> None:
    with pytest.raises(StorageError):
        table_ref(BigQuerySettings(project=project, dataset=dataset), table)
    assert table_ref(BigQuerySettings(project="portside-test", dataset="processing"), "processor_executions") == (
        "`processor_executions`")
