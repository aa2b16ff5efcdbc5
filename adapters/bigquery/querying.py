"""BigQuery statements: named parameters, the current state of a table, conditions, order, keyset
positions; and the runner that sends them.

Every value reaches BigQuery as a named query parameter (`Parameters` hands out `@p0`, `@p1`, ...),
strings included, so statements hold no quoted text at all; identifiers come from the schema's
allow-lists. Conditions mean what `adapters/memory/querying.py` evaluates on objects: NULL matches
nothing but IS NULL, text compares by code point (BigQuery orders STRING by UTF-8 bytes, the same
order), substring matches fold ASCII letters only.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.bigquery.client import BigQuerySettings
from adapters.bigquery.schema import COMMITS, Column, TableDefinition, dataset_ref, table_ref, tenant_bucket
from adapters.cooperative import off_loop, pause
from domain.shared.errors import StorageError, StorageUnavailable, ValidationError
from domain.shared.filters import Condition, Operator, fold_ascii
from domain.shared.sorting import Sort

if TYPE_CHECKING:
    from google.cloud import bigquery

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"

StructField = tuple[str, str, bool]
"""(name, element type, repeated) of a field of a STRUCT parameter."""


@dataclass(frozen=True, slots=True)
class _Parameter:
    name: str
    kind: str  # "scalar" | "array" | "structs"
    type: str
    value: Any
    fields: tuple[StructField, ...] = ()


@dataclass(slots=True)
class Parameters:
    """The named parameters of one statement. Each method returns the reference to put in the SQL."""

    items: list[_Parameter] = field(default_factory=list)

    def _add(self, kind: str, type_: str, value: Any, fields: tuple[StructField, ...] = ()) -> str:
        name = f"p{len(self.items)}"
        self.items.append(_Parameter(name, kind, type_, value, fields))
        return f"@{name}"

    def scalar(self, type_: str, value: Any) -> str:
        return self._add("scalar", type_, value)

    def array(self, type_: str, values: Sequence[Any]) -> str:
        return self._add("array", type_, list(values))

    def structs(self, fields: Sequence[StructField], rows: Sequence[Sequence[Any]]) -> str:
        """An ARRAY<STRUCT<...>> of `rows`, each a sequence of values in the order of `fields`."""
        return self._add("structs", "STRUCT", [tuple(row) for row in rows], tuple(fields))

    def build(self) -> list[Any]:
        """The google-cloud-bigquery parameter objects (imported here, lazily)."""
        from google.cloud.bigquery import (
            ArrayQueryParameter,
            ArrayQueryParameterType,
            ScalarQueryParameter,
            ScalarQueryParameterType,
            StructQueryParameter,
            StructQueryParameterType,
        )

        built: list[Any] = []
        for item in self.items:
            if item.kind == "scalar":
                built.append(ScalarQueryParameter(item.name, item.type, item.value))
            elif item.kind == "array":
                built.append(ArrayQueryParameter(item.name, item.type, item.value))
            else:
                # An explicit struct type: the client cannot infer one from an empty array.
                struct_type = StructQueryParameterType(*[  # type: ignore[no-untyped-call]
                    ArrayQueryParameterType(type_, name=name)  # type: ignore[no-untyped-call]
                    if repeated else ScalarQueryParameterType(type_, name=name)  # type: ignore[no-untyped-call]
                    for name, type_, repeated in item.fields
                ])
                values = [
                    StructQueryParameter(None, *[
                        ArrayQueryParameter(name, type_, value) if repeated
                        else ScalarQueryParameter(name, type_, value)
                        for (name, type_, repeated), value in zip(item.fields, row, strict=True)
                    ])
                    for row in item.value
                ]
                built.append(ArrayQueryParameter(item.name, struct_type, values))
        return built


# -- statement fragments -------------------------------------------------------------------------
def committed_sql(settings: BigQuerySettings, params: Parameters, tenant: uuid.UUID) -> str:
    """The ids of the tenant's committed units of work."""
    commits = table_ref(settings, COMMITS)
    org = params.scalar("STRING", str(tenant))
    bucket = params.scalar("INT64", tenant_bucket(tenant))
    return (f"SELECT c.commit_id FROM {commits} AS c WHERE c.tenant_bucket = {bucket} AND c.organization_id = {org} "
            f"AND c.committed_at IS NOT NULL")


def current_sql(settings: BigQuerySettings, definition: TableDefinition[Any], params: Parameters,
                tenant: uuid.UUID) -> str:
    """Every column of the current version of each committed record of `tenant`, tombstones
    included: the rows of committed units of work, newest `row_version` per id."""
    table = table_ref(settings, definition.name)
    org = params.scalar("STRING", str(tenant))
    return (
        f"SELECT * FROM {table} AS t WHERE t.organization_id = {org} AND t.commit_id IN "
        f"({committed_sql(settings, params, tenant)}) "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY t.organization_id, t.id ORDER BY t.row_version DESC) = 1"
    )


def _comparable(definition: TableDefinition[Any], name: str) -> Column:
    column = definition.column(name)
    if column.repeated or column.bigquery_type == "JSON":
        raise ValidationError(name, "is not a filterable field")
    return column


def condition_sql(definition: TableDefinition[Any], params: Parameters, condition: Condition,
                  alias: str = "r") -> str:
    column = _comparable(definition, condition.field)
    target = f"{alias}.{column.name}"
    value = condition.value
    match condition.operator:
        case Operator.IS_NULL:
            return f"{target} IS NULL" if value else f"{target} IS NOT NULL"
        case Operator.IN:
            values = [column.encode(item) for item in value]
            return f"{target} IN UNNEST({params.array(column.parameter_type, values)})"
        case Operator.CONTAINS:
            upper, lower = params.scalar("STRING", _UPPER), params.scalar("STRING", _LOWER)
            needle = params.scalar("STRING", fold_ascii(str(value)))
            return f"STRPOS(TRANSLATE({target}, {upper}, {lower}), {needle}) > 0"
        case Operator.NE if value is None:
            return f"{target} IS NOT NULL"  # as on objects: every non-NULL value differs from None
        case Operator.EQ | Operator.NE | Operator.LT | Operator.LTE | Operator.GT | Operator.GTE:
            symbol = {Operator.EQ: "=", Operator.NE: "!=", Operator.LT: "<", Operator.LTE: "<=", Operator.GT: ">",
                      Operator.GTE: ">="}[condition.operator]
            return f"{target} {symbol} {params.scalar(column.parameter_type, column.encode(value))}"
    raise ValidationError(condition.field, f"unsupported operator {condition.operator}")


def order_sql(definition: TableDefinition[Any], sort: Sort, alias: str = "r") -> str:
    """ORDER BY of `sort`, NULL lowest as on every backend: `NULLS FIRST` ascending and `NULLS LAST`
    descending, explicit on nullable columns (BigQuery's default already, but not every engine that
    speaks its dialect, the emulator's DuckDB among them)."""
    parts: list[str] = []
    for item in sort.fields:
        column = _comparable(definition, item.field)
        direction = "DESC" if item.descending else "ASC"
        if column.nullable:
            direction += " NULLS LAST" if item.descending else " NULLS FIRST"
        parts.append(f"{alias}.{column.name} {direction}")
    return ", ".join(parts)


def keyset_sql(definition: TableDefinition[Any], params: Parameters, sort: Sort, position: Sequence[Any],
               alias: str = "r") -> str:
    """Rows strictly after `position` in `sort` order: (a > x) OR (a = x AND b > y) OR ..., NULL lowest
    (the rules are `adapters/sql/ordering.py`'s): after a NULL anchor ascending, every non-NULL value;
    after one descending, nothing; below a set anchor descending, the NULLs too."""
    if len(position) != len(sort.fields):
        raise ValidationError("cursor", f"a position has {len(sort.fields)} values, got {len(position)}")
    anchors: list[tuple[Column, str, str | None]] = []
    for item, value in zip(sort.fields, position, strict=True):
        column = _comparable(definition, item.field)
        anchor = None if value is None else params.scalar(column.parameter_type, column.encode(value))
        anchors.append((column, f"{alias}.{column.name}", anchor))
    branches: list[str] = []
    for index, item in enumerate(sort.fields):
        column, target, anchor = anchors[index]
        if anchor is None:
            if item.descending:
                continue  # nothing is below NULL
            step = f"{target} IS NOT NULL"
        elif item.descending:
            step = f"({target} < {anchor} OR {target} IS NULL)" if column.nullable else f"{target} < {anchor}"
        else:
            step = f"{target} > {anchor}"
        equal = [f"{t} IS NULL" if a is None else f"{t} = {a}" for _, t, a in anchors[:index]]
        branches.append("(" + " AND ".join([*equal, step]) + ")")
    return "(" + " OR ".join(branches) + ")" if branches else "FALSE"


# -- the runner ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Result:
    rows: list[dict[str, Any]]
    affected: int | None
    """Rows a DML statement changed; None for a query."""


def _is_concurrent_update(error: BaseException) -> bool:
    # "Could not serialize access to table ... due to concurrent update" (DML), "Transaction is
    # aborted due to concurrent update against table ..." (transactions).
    return "concurrent update" in str(error).lower()


def is_transient(error: BaseException) -> bool:
    """Worth retrying: rate limits, backend errors, timeouts, lost connections, concurrent updates."""
    import concurrent.futures

    import requests
    from google.api_core import exceptions

    if isinstance(error, exceptions.TooManyRequests | exceptions.InternalServerError | exceptions.BadGateway
                  | exceptions.ServiceUnavailable | exceptions.GatewayTimeout | exceptions.DeadlineExceeded
                  | exceptions.RetryError | requests.ConnectionError | requests.Timeout
                  | concurrent.futures.TimeoutError | ConnectionError | TimeoutError):
        return True
    reasons = {entry.get("reason") for entry in (getattr(error, "errors", None) or []) if isinstance(entry, dict)}
    if reasons & {"rateLimitExceeded", "jobRateLimitExceeded", "backendError", "internalError"}:
        return True
    return _is_concurrent_update(error)


class Runner:
    """Sends statements as query jobs (DML included: never streaming inserts), each with its named
    parameters and the `maximum_bytes_billed` cap. Transient failures, "concurrent update" ones
    included, are retried with full-jitter exponential backoff; what is left becomes
    `StorageUnavailable` (transient) or `StorageError`, never a google exception."""

    def __init__(self, client: bigquery.Client, settings: BigQuerySettings, *, attempts: int = 6,
                 backoff_seconds: float = 0.2, max_backoff_seconds: float = 8.0,
                 sleep: Callable[[float], None] = pause) -> None:
        self.client = client
        self.settings = settings
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._sleep = sleep

    def run(self, sql: str, params: Parameters) -> Result:
        for attempt in range(self.attempts):
            try:
                # Under the async face's loop (a use case on SQL that reads BigQuery too) the job
                # waits on a thread, never on the loop.
                return off_loop(self._once, sql, params)
            except Exception as error:
                if not is_transient(error):
                    raise StorageError(f"BigQuery refused a statement: {error}") from error
                if attempt + 1 >= self.attempts:
                    raise StorageUnavailable(f"BigQuery kept failing ({self.attempts} attempts): {error}") from error
                ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt)
                self._sleep(random.uniform(0, ceiling))
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, sql: str, params: Parameters) -> Result:
        from google.cloud import bigquery

        timeout = self.settings.timeout_seconds
        config = bigquery.QueryJobConfig(
            query_parameters=params.build(),
            default_dataset=dataset_ref(self.settings),
            maximum_bytes_billed=self.settings.maximum_bytes_billed,
            use_legacy_sql=False,
        )
        retry = bigquery.DEFAULT_RETRY.with_timeout(timeout)
        # job_retry=None: a failed job is retried here, where "concurrent update" is known to be safe.
        job = self.client.query(sql, job_config=config, timeout=timeout, retry=retry, job_retry=None)
        rows = [dict(row.items()) for row in job.result(timeout=timeout, retry=retry)]
        return Result(rows, job.num_dml_affected_rows)
