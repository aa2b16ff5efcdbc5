"""References checked before a write, the same way on every backend: a record naming a row its unit
of work cannot see (missing, or another tenant's) is `NotFound` naming that row, and nothing is
written. The storage enforces the same references behind this check (SQL foreign keys, the memory
adapter's `adapters/memory/references.py`), for writes racing a concurrent delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from adapters.records.store import RecordStore
from domain.shared.entity import Entity
from domain.shared.errors import NotFound
from ports.records import RecordSchema

StoreOf = Callable[[RecordSchema[Any]], RecordStore[Any]]


class ReferenceCheck:
    """The references of one schema's records, read through the unit of work's stores. A row found
    once is not read again in the same block (a unit of work writing a thousand audit entries of one
    organization reads the organization once)."""

    def __init__(self, schema: RecordSchema[Any], store_of: StoreOf) -> None:
        self._references = schema.references
        self._store_of = store_of
        self._seen: set[tuple[str, uuid.UUID]] = set()

    def check(self, rows: Iterable[Entity]) -> None:
        rows = list(rows)
        for reference in self._references:
            target = reference.target
            wanted = dict.fromkeys(getattr(row, reference.field) for row in rows)
            for key in wanted:
                if key is None or (target.table, key) in self._seen:
                    continue
                if not self._store_of(target).exists(key):
                    raise NotFound(target.entity, key)
                self._seen.add((target.table, key))
