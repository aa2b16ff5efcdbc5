"""The BigQuery tables of the processing context (spec 000), their codecs, and `ensure_schema`.

Mutable records are append-only row versions. Every table has the spec's columns, the aggregate's
`created_at`, `updated_at` and `version`, and three storage columns:

- `row_version`: 1, 2, 3... per (organization_id, id); the current state of a record is the visible
  row with the highest one (`QUALIFY ROW_NUMBER() OVER (PARTITION BY organization_id, id ORDER BY
  row_version DESC) = 1`). It is the aggregate's `version` until an id is deleted and created
  again, after which `version` restarts at 1 and `row_version` goes on.
- `deleted`: a tombstone, the version a delete writes.
- `commit_id`: the unit of work that wrote the row. A row is visible once `processing_commits` holds
  its commit as committed (see `adapters/bigquery/publish.py`).

JSON columns are never compared in SQL; deduplication compares `payload_hash` (the spec's column,
SHA-256 of the canonical payload), which is stored beside `payload`. Tables are partitioned by
`DATE(created_at)` and clustered by `organization_id` and their lookup key. `processing_commits` is
range-partitioned by a tenant bucket instead: it is where commits of one tenant serialize (one
partition per bucket makes their publishing statements conflict, see `publish.py`).

Table names only ever come from `TABLES` (an allow-list); project and dataset names are checked,
and every job runs with the dataset as its default, so statements name tables alone. A table's name
and unique keys are its `RecordSchema`'s (`ports/processing.py`), the partial live-payload key of
executions included: each key is declared once, there.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from adapters.bigquery.client import BigQuerySettings
from domain.processing.execution import ExecutionStatus
from domain.processing.subscriptions import PriceUnit, SubscriptionStatus
from domain.shared.entity import Entity
from domain.shared.errors import Conflict, StorageError
from ports.processing import EXECUTION_SCHEMA, PURCHASED_PROCESSOR_SCHEMA, UNDERWRITING_PROCESSOR_SCHEMA
from ports.records import RecordSchema, UniqueKey

if TYPE_CHECKING:
    from google.cloud import bigquery

E = TypeVar("E", bound=Entity)

PURCHASED = PURCHASED_PROCESSOR_SCHEMA.table
UNDERWRITING = UNDERWRITING_PROCESSOR_SCHEMA.table
EXECUTIONS = EXECUTION_SCHEMA.table
COMMITS = "processing_commits"

TENANT_BUCKETS = 4000
"""Range partitions of `processing_commits` (BigQuery allows 10,000 partitions per table)."""

class Codec(StrEnum):
    """How a column's value travels between an aggregate and BigQuery."""

    UUID = "uuid"  # STRING, canonical lower-case form: sorts like uuid.UUID
    TEXT = "text"
    BOOL = "bool"
    INT = "int"
    TIMESTAMP = "timestamp"
    JSON = "json"  # JSON column, sent as a STRING parameter through PARSE_JSON, read back parsed by the client
    TEXT_LIST = "text_list"  # ARRAY<STRING>
    UUID_LIST = "uuid_list"  # ARRAY<STRING>


_BIGQUERY_TYPES = {
    Codec.UUID: "STRING", Codec.TEXT: "STRING", Codec.BOOL: "BOOL", Codec.INT: "INT64",
    Codec.TIMESTAMP: "TIMESTAMP", Codec.JSON: "JSON", Codec.TEXT_LIST: "STRING", Codec.UUID_LIST: "STRING",
}
_PARAMETER_TYPES = {**_BIGQUERY_TYPES, Codec.JSON: "STRING"}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    codec: Codec
    nullable: bool = False
    enum: type[Enum] | None = None
    """Stored as its value, read back as the member (the aggregates compare members)."""

    @property
    def repeated(self) -> bool:
        return self.codec in (Codec.TEXT_LIST, Codec.UUID_LIST)

    @property
    def bigquery_type(self) -> str:
        """The column's type; for arrays, the element's (the mode is REPEATED)."""
        return _BIGQUERY_TYPES[self.codec]

    @property
    def parameter_type(self) -> str:
        """The type of the query parameter carrying a value (the element's, for arrays)."""
        return _PARAMETER_TYPES[self.codec]

    def encode(self, value: Any) -> Any:
        """A value of the aggregate's attribute as a query parameter value."""
        if value is None:
            return [] if self.repeated else None
        match self.codec:
            case Codec.UUID:
                return str(value)
            case Codec.TEXT:
                return value.value if isinstance(value, Enum) else str(value)
            case Codec.JSON:
                return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            case Codec.UUID_LIST | Codec.TEXT_LIST:
                return [str(item) for item in value]
            case _:
                return value

    def decode(self, value: Any) -> Any:
        """A value of a result row as the aggregate's attribute."""
        if value is None:
            return [] if self.repeated else None
        match self.codec:
            case Codec.UUID:
                return uuid.UUID(value)
            case Codec.TEXT:
                return self.enum(value) if self.enum is not None else value
            case Codec.UUID_LIST:
                return [uuid.UUID(item) for item in value]
            case Codec.TEXT_LIST:
                return list(value)
            case Codec.TIMESTAMP:
                return value if isinstance(value, datetime) else datetime.fromisoformat(value)
            case _:
                return value


STORAGE_COLUMNS = ("row_version", "deleted", "commit_id")


@dataclass(frozen=True, slots=True)
class TableDefinition(Generic[E]):
    """How the records of one `RecordSchema` are stored: columns, codecs and clustering."""

    record: RecordSchema[E]
    columns: tuple[Column, ...]
    """The aggregate's attributes, every one of them, in the model's order."""
    clustering: tuple[str, ...]
    """`organization_id`, the lookup key, `id` (BigQuery allows four)."""
    description: str = ""

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        if set(names) != set(self.record.model.model_fields):
            raise AssertionError(f"{self.name}: columns {sorted(names)} are not the attributes of "
                                 f"{self.record.model.__name__}")

    @property
    def name(self) -> str:
        return self.record.table

    @property
    def entity(self) -> str:
        return self.record.entity

    @property
    def unique_keys(self) -> Mapping[str, UniqueKey]:
        """The schema's unique keys, partial ones included (they bind only the rows `binds` accepts)."""
        return self.record.unique_keys

    def taken(self, key_name: str, row: Entity) -> Conflict:
        """The refusal of `row` because its key `key_name` (`id`: the primary key) is taken."""
        return Conflict(self.entity, self.record.taken(key_name, row))

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        from domain.shared.errors import ValidationError

        raise ValidationError(name, f"is not a column of {self.name}")

    def to_row(self, entity: E) -> dict[str, Any]:
        values = entity.__dict__
        return {column.name: column.encode(values[column.name]) for column in self.columns}

    def from_row(self, row: Mapping[str, Any]) -> E:
        """Rows are trusted (validated on the way in): rebuilt without validation."""
        values = {column.name: column.decode(row[column.name]) for column in self.columns}
        return cast(E, self.record.model.model_construct(**values))


def _aggregate(record: RecordSchema[E], description: str, clustering: tuple[str, ...],
               *own: Column) -> TableDefinition[E]:
    """A table of row versions of `record`: its id and organization, its own columns, the stamps."""
    stamps = (Column("created_at", Codec.TIMESTAMP), Column("updated_at", Codec.TIMESTAMP),
              Column("version", Codec.INT))
    columns = (Column("id", Codec.UUID), Column("organization_id", Codec.UUID), *own, *stamps)
    return TableDefinition(record=record, columns=columns, clustering=clustering, description=description)


PURCHASED_TABLE = _aggregate(
    PURCHASED_PROCESSOR_SCHEMA, "Tenant-level processor subscriptions (spec 000), one row per version.",
    ("organization_id", "processor", "id"),
    Column("processor", Codec.TEXT), Column("name", Codec.TEXT), Column("auto", Codec.BOOL),
    Column("status", Codec.TEXT, enum=SubscriptionStatus), Column("config", Codec.JSON),
    Column("price_amount", Codec.INT), Column("price_unit", Codec.TEXT, enum=PriceUnit),
    Column("purchased_at", Codec.TIMESTAMP), Column("purchased_by", Codec.UUID, nullable=True),
)

UNDERWRITING_TABLE = _aggregate(
    UNDERWRITING_PROCESSOR_SCHEMA, "Underwriting-level processor configurations (spec 000), one row per version.",
    ("organization_id", "underwriting_id", "id"),
    Column("underwriting_id", Codec.UUID), Column("purchased_processor_id", Codec.UUID),
    Column("processor", Codec.TEXT), Column("name", Codec.TEXT), Column("auto", Codec.BOOL),
    Column("enabled", Codec.BOOL), Column("config_override", Codec.JSON), Column("effective_config", Codec.JSON),
    Column("current_executions_list", Codec.UUID_LIST),
)

# The deduplication check (processor, payload hash) is the hot lookup of the write path.
EXECUTIONS_TABLE = _aggregate(
    EXECUTION_SCHEMA, "Processor executions (spec 000), one row per version.",
    ("organization_id", "underwriting_processor_id", "payload_hash", "id"),
    Column("underwriting_id", Codec.UUID), Column("underwriting_processor_id", Codec.UUID),
    Column("processor", Codec.TEXT), Column("status", Codec.TEXT, enum=ExecutionStatus), Column("enabled", Codec.BOOL),
    Column("payload", Codec.JSON), Column("payload_hash", Codec.TEXT),
    Column("output", Codec.JSON, nullable=True), Column("factors_delta", Codec.JSON, nullable=True),
    Column("document_revision_ids", Codec.TEXT_LIST), Column("document_ids_hash", Codec.TEXT, nullable=True),
    Column("run_cost_cents", Codec.INT, nullable=True), Column("started_at", Codec.TIMESTAMP, nullable=True),
    Column("completed_at", Codec.TIMESTAMP, nullable=True), Column("failed_code", Codec.TEXT, nullable=True),
    Column("failed_reason", Codec.TEXT, nullable=True), Column("updated_execution_id", Codec.UUID, nullable=True),
    Column("disabled_at", Codec.TIMESTAMP, nullable=True),
)

TABLES: Mapping[str, TableDefinition[Any]] = {
    table.name: table for table in (PURCHASED_TABLE, UNDERWRITING_TABLE, EXECUTIONS_TABLE)
}
"""The allow-list of entity tables: no other name is ever put into a statement."""

COMMITS_DESCRIPTION = "Units of work of the processing tables: a row version is visible once its commit is committed."


# -- names ---------------------------------------------------------------------------------------
_PROJECT = re.compile(r"^[a-z][a-z0-9.:-]{1,127}[a-z0-9]$")
_DATASET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")


def dataset_ref(settings: BigQuerySettings) -> str:
    """`project.dataset`, checked: the default dataset of every job the adapter runs."""
    if not _PROJECT.match(settings.project):
        raise StorageError(f"{settings.project!r} is not a BigQuery project id")
    if not _DATASET.match(settings.dataset):
        raise StorageError(f"{settings.dataset!r} is not a BigQuery dataset name")
    return f"{settings.project}.{settings.dataset}"


def table_ref(settings: BigQuerySettings, table: str) -> str:
    """A table of the allow-list, between backticks, as statements name it: relative to the
    settings' dataset, which every job gets as its default dataset."""
    dataset_ref(settings)
    if table not in TABLES and table != COMMITS:
        raise StorageError(f"{table!r} is not a table of the BigQuery processing schema")
    return f"`{table}`"


def tenant_bucket(organization_id: uuid.UUID) -> int:
    """The `processing_commits` partition of a tenant: stable, computed the same way everywhere."""
    digest = hashlib.sha256(str(organization_id).encode()).digest()
    return int.from_bytes(digest[:8], "big") % TENANT_BUCKETS


# -- DDL -----------------------------------------------------------------------------------------
def table_object(settings: BigQuerySettings, definition: TableDefinition[Any]) -> bigquery.Table:
    from google.cloud import bigquery

    fields = [
        bigquery.SchemaField(column.name, column.bigquery_type,
                             mode="REPEATED" if column.repeated else "NULLABLE" if column.nullable else "REQUIRED")
        for column in definition.columns
    ]
    fields += [
        bigquery.SchemaField("row_version", "INT64", mode="REQUIRED"),
        bigquery.SchemaField("deleted", "BOOL", mode="REQUIRED"),
        bigquery.SchemaField("commit_id", "STRING", mode="REQUIRED"),
    ]
    table = bigquery.Table(f"{settings.project}.{settings.dataset}.{definition.name}", schema=fields)
    table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field="created_at")
    table.clustering_fields = list(definition.clustering)
    table.description = definition.description
    return table


def commits_table_object(settings: BigQuerySettings) -> bigquery.Table:
    from google.cloud import bigquery

    table = bigquery.Table(f"{settings.project}.{settings.dataset}.{COMMITS}", schema=[
        bigquery.SchemaField("organization_id", "STRING", mode="REQUIRED"),
        bigquery.SchemaField("tenant_bucket", "INT64", mode="REQUIRED"),
        bigquery.SchemaField("commit_id", "STRING", mode="REQUIRED"),
        bigquery.SchemaField("created_at", "TIMESTAMP", mode="REQUIRED"),
        bigquery.SchemaField("committed_at", "TIMESTAMP", mode="NULLABLE"),
    ])
    table.range_partitioning = bigquery.RangePartitioning(
        field="tenant_bucket", range_=bigquery.PartitionRange(start=0, end=TENANT_BUCKETS, interval=1))
    table.clustering_fields = ["organization_id", "commit_id"]
    table.description = COMMITS_DESCRIPTION
    return table


def ensure_schema(client: bigquery.Client, settings: BigQuerySettings) -> None:
    """Create the dataset and the processing tables unless they exist; idempotent.

    Tables are created through the API (tables.insert) with their partitioning and clustering, not
    with DDL. A table that exists without a column this adapter writes is reported, not altered.
    """
    from google.api_core import exceptions
    from google.cloud import bigquery

    dataset = bigquery.Dataset(dataset_ref(settings))
    dataset.location = settings.location
    wanted = [commits_table_object(settings), *(table_object(settings, d) for d in TABLES.values())]
    try:
        client.create_dataset(dataset, exists_ok=True, timeout=settings.timeout_seconds)
        for table in wanted:
            client.create_table(table, exists_ok=True, timeout=settings.timeout_seconds)
            existing = client.get_table(table.reference, timeout=settings.timeout_seconds)
            missing = {f.name for f in table.schema} - {f.name for f in existing.schema}
            if missing:
                raise StorageError(f"{table.table_id} exists without the columns {sorted(missing)}")
    except exceptions.GoogleAPIError as error:
        raise StorageError(f"cannot create the BigQuery processing schema: {error}") from error


def drop_schema(client: bigquery.Client, settings: BigQuerySettings) -> None:
    """Delete the dataset and everything in it (tests, demos)."""
    client.delete_dataset(dataset_ref(settings), delete_contents=True, not_found_ok=True,
                          timeout=settings.timeout_seconds)

