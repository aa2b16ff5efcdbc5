"""Unique keys in BigQuery statements: the key values of some records as one array parameter, and
the SQL that a stored record holds one of them.

BigQuery has no unique index: a key is checked by a query, when a write is buffered (against the
committed state) and again when it is published (see `adapters/bigquery/publish.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.bigquery.querying import Parameters
from adapters.bigquery.schema import TableDefinition
from domain.shared.entity import Entity
from ports.records import UniqueKey


def key_values(definition: TableDefinition[Any], params: Parameters, key: UniqueKey, rows: Sequence[Entity], *,
               with_id: bool = False) -> tuple[str, str]:
    """`(array, equal)`: the values of `key` in `rows` as an ARRAY<STRUCT> parameter to unnest as
    `k` (with each row's `id` too when `with_id`), and the SQL that the record `r` holds the key of
    the struct `k` (key columns only: a partial key's predicate is `partial_sql`)."""
    columns = [definition.column(attribute) for attribute in key.fields]
    fields = [(f"f{i}", column.parameter_type, False) for i, column in enumerate(columns)]
    values = [[column.encode(getattr(row, column.name)) for column in columns] for row in rows]
    if with_id:
        fields.insert(0, ("id", "STRING", False))
        values = [[str(row.id), *row_values] for row, row_values in zip(rows, values, strict=True)]
    equal = " AND ".join(f"r.{column.name} = k.f{i}" for i, column in enumerate(columns))
    return params.structs(fields, values), equal


def holds_any_sql(definition: TableDefinition[Any], params: Parameters, key: UniqueKey,
                  rows: Sequence[Entity]) -> str:
    """SQL: the record `r` holds the key `key` of one of `rows` (key columns only)."""
    values, equal = key_values(definition, params, key, rows)
    return f"EXISTS (SELECT 1 FROM UNNEST({values}) AS k WHERE {equal})"


def partial_sql(definition: TableDefinition[Any], params: Parameters, key: UniqueKey) -> str:
    """SQL that the record `r` is bound by the partial key `key` (` AND r.status IN UNNEST(@p)`);
    empty for a plain key."""
    if key.only is None:
        return ""
    column = definition.column(key.only[0])
    return f" AND r.{column.name} IN UNNEST({params.array(column.parameter_type, key.only[1])})"
