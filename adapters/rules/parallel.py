"""Spec 002's ProcessingRepository: a parallel processing's row and its chunk tasks, saved and
loaded together (a load is two statements, the active processings two in all)."""

from __future__ import annotations

import uuid

from adapters.records.store import Query, RecordStore
from domain.jobs.parallel import ACTIVE, ChunkTask, ParallelProcessing, ProcessingRecord
from domain.shared.errors import ConcurrencyConflict, NotFound, ValidationError
from domain.shared.filters import Condition, Operator
from domain.shared.ids import parse_id
from domain.shared.sorting import Sort
from ports.jobs import CHUNK_SCHEMA, PROCESSING_SCHEMA, ParallelProcessingRepository
from ports.records import check_in_scope


def progress_argument(value: object) -> float:
    """A progress in percent, checked: a number from 0 to 100."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ValidationError("progress", f"must be a number from 0 to 100, got {value!r}")
    return float(value)


class Processings(ParallelProcessingRepository):
    def __init__(self, records: RecordStore[ProcessingRecord], chunks: RecordStore[ChunkTask]) -> None:
        self._records = records
        self._chunks = chunks

    def save(self, processing: ParallelProcessing) -> ParallelProcessing:
        if not isinstance(processing, ParallelProcessing):
            raise ValidationError("processing", f"expected a ParallelProcessing, got {type(processing).__name__}")
        record = processing.record
        check_in_scope(PROCESSING_SCHEMA, self._records.scope, record)
        for task in processing.tasks:
            check_in_scope(CHUNK_SCHEMA, self._chunks.scope, task)
            if task.processing_id != record.id:
                raise ValidationError("tasks", "every chunk task must belong to the processing")
        with self._records.atomically():
            stored = self._records.get(record.id)
            if stored is None:
                self._records.insert([record])
                saved_record = record
            else:
                saved_record = record if stored == record else self._records.update(record, keys_unchanged=True)
            # A processing stored just now has no chunk rows yet: nothing to read.
            existing = {} if stored is None else {task.id: task for task in self._chunk_rows([record.id])}
            new = [task for task in processing.tasks if task.id not in existing]
            changed = [task for task in processing.tasks if task.id in existing and existing[task.id] != task]
            if new:
                self._chunks.insert(new)
            updated = {task.id: task for task in self._chunks.update_many(changed, keys_unchanged=True)} if changed \
                else {}
        return ParallelProcessing.assembled(saved_record, [updated.get(task.id, task) for task in processing.tasks])

    def _chunk_rows(self, processing_ids: list[uuid.UUID]) -> list[ChunkTask]:
        if not processing_ids:
            return []
        return self._chunks.find(Query((Condition("processing_id", Operator.IN, tuple(processing_ids)),),
                                       Sort.parse("chunk_index,id")))

    def load(self, processing_id: uuid.UUID) -> ParallelProcessing | None:
        record = self._records.get(parse_id(processing_id, "processing_id"))
        if record is None:
            return None
        return ParallelProcessing.assembled(record, self._chunk_rows([record.id]))

    def update_progress(self, processing_id: uuid.UUID, progress: float) -> ParallelProcessing:
        key = parse_id(processing_id, "processing_id")
        record = self._records.get(key)
        if record is None:
            raise NotFound(PROCESSING_SCHEMA.entity, key)
        stored = self._records.update(record.evolve(progress=progress_argument(progress)), keys_unchanged=True)
        return ParallelProcessing.assembled(stored, self._chunk_rows([key]))

    def get_active_processings(self) -> list[ParallelProcessing]:
        records = self._records.find(Query((Condition("status", Operator.IN, tuple(ACTIVE)),)))
        chunks: dict[uuid.UUID, list[ChunkTask]] = {record.id: [] for record in records}
        for task in self._chunk_rows(list(chunks)):
            chunks[task.processing_id].append(task)
        return [ParallelProcessing.assembled(record, chunks[record.id]) for record in records]

    def delete(self, processing_id: uuid.UUID) -> None:
        key = parse_id(processing_id, "processing_id")
        with self._records.atomically():
            record = self._records.get(key)
            if record is None:
                raise NotFound(PROCESSING_SCHEMA.entity, key)
            tasks = self._chunk_rows([key])
            if len(self._chunks.delete_current(tasks)) != len(tasks):
                raise ConcurrencyConflict(PROCESSING_SCHEMA.entity, key, record.version)
            self._records.delete(key, record.version)
