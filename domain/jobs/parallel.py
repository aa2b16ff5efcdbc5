"""Parallel processing (spec 002's ParallelProcessor): one piece of work split into chunk tasks that
run independently and are merged once all of them are done.

    processing: PENDING -> PROCESSING -> MERGING -> COMPLETED      (any unfinished -> FAILED)
    chunk:      PENDING -> PROCESSING -> COMPLETED | FAILED        (FAILED with retries left -> PENDING)

Progress is derived from the chunks (completed / total, in percent); the processing moves to MERGING
by itself when its last chunk completes, and fails when a chunk has failed with no retry left.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from domain.shared.entity import TenantOwned
from domain.shared.errors import NotFound, ValidationError
from domain.shared.lifecycle import TransitionTable
from domain.shared.time import UtcDatetime

MAX_CHUNKS = 10_000


class ProcessingStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    MERGING = "MERGING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


ACTIVE = frozenset({ProcessingStatus.PROCESSING, ProcessingStatus.MERGING})


class ChunkStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


PROCESSING_LIFECYCLE = TransitionTable[ProcessingStatus]("processing", {
    ProcessingStatus.PENDING: frozenset({ProcessingStatus.PROCESSING, ProcessingStatus.FAILED}),
    ProcessingStatus.PROCESSING: frozenset({ProcessingStatus.MERGING, ProcessingStatus.FAILED}),
    ProcessingStatus.MERGING: frozenset({ProcessingStatus.COMPLETED, ProcessingStatus.FAILED}),
    ProcessingStatus.COMPLETED: frozenset(),
    ProcessingStatus.FAILED: frozenset(),
})

CHUNK_LIFECYCLE = TransitionTable[ChunkStatus]("chunk task", {
    ChunkStatus.PENDING: frozenset({ChunkStatus.PROCESSING}),
    ChunkStatus.PROCESSING: frozenset({ChunkStatus.COMPLETED, ChunkStatus.FAILED, ChunkStatus.PENDING}),
    ChunkStatus.COMPLETED: frozenset(),
    ChunkStatus.FAILED: frozenset(),
})


class ProcessingRecord(TenantOwned):
    """The processing's own row (spec 002's `processing_tasks`)."""

    transcript_id: uuid.UUID | None = None
    status: ProcessingStatus = ProcessingStatus.PENDING
    total_chunks: int = Field(ge=1, le=MAX_CHUNKS, strict=True)
    completed_chunks: int = Field(default=0, ge=0, le=MAX_CHUNKS)
    progress: float = Field(default=0.0, ge=0.0, le=100.0, allow_inf_nan=False)
    started_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None
    error_message: Annotated[str, Field(max_length=10_000)] | None = None


class ChunkTask(TenantOwned):
    """One chunk of a processing (spec 002's `chunk_tasks`)."""

    processing_id: uuid.UUID
    chunk_index: int = Field(ge=0, lt=MAX_CHUNKS)
    status: ChunkStatus = ChunkStatus.PENDING
    retry_count: int = Field(default=0, ge=0, le=100)
    max_retries: int = Field(default=3, ge=0, le=100)
    started_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None
    error_message: Annotated[str, Field(max_length=10_000)] | None = None

    def started(self, at: datetime) -> ChunkTask:
        CHUNK_LIFECYCLE.check(self.status, ChunkStatus.PROCESSING)
        return self.evolve(status=ChunkStatus.PROCESSING, started_at=at, updated_at=at)

    def completed(self, at: datetime) -> ChunkTask:
        CHUNK_LIFECYCLE.check(self.status, ChunkStatus.COMPLETED)
        return self.evolve(status=ChunkStatus.COMPLETED, completed_at=at, error_message=None, updated_at=at)

    def failed(self, error: str, at: datetime) -> ChunkTask:
        """PENDING again while retries are left (the retry is counted), FAILED after."""
        CHUNK_LIFECYCLE.check(self.status, ChunkStatus.FAILED)
        if self.retry_count < self.max_retries:
            return self.evolve(status=ChunkStatus.PENDING, retry_count=self.retry_count + 1,
                               error_message=error[:10_000], updated_at=at)
        return self.evolve(status=ChunkStatus.FAILED, error_message=error[:10_000], completed_at=at, updated_at=at)


@dataclass(frozen=True, slots=True)
class ParallelProcessing:
    """The aggregate: the processing and its chunks, changed together through its methods."""

    record: ProcessingRecord
    tasks: tuple[ChunkTask, ...]

    @classmethod
    def new(cls, tenant_id: uuid.UUID, total_chunks: int, at: datetime, *, transcript_id: uuid.UUID | None = None,
            max_retries: int = 3) -> ParallelProcessing:
        record = ProcessingRecord.new(tenant_id=tenant_id, transcript_id=transcript_id, total_chunks=total_chunks,
                                      created_at=at, updated_at=at)
        tasks = tuple(
            ChunkTask.new(tenant_id=tenant_id, processing_id=record.id, chunk_index=index, max_retries=max_retries,
                          created_at=at, updated_at=at)
            for index in range(record.total_chunks)
        )
        return cls(record, tasks)

    @classmethod
    def assembled(cls, record: ProcessingRecord, tasks: list[ChunkTask]) -> ParallelProcessing:
        return cls(record, tuple(sorted(tasks, key=lambda task: task.chunk_index)))

    # -- reading ---------------------------------------------------------------------------------
    @property
    def id(self) -> uuid.UUID:
        return self.record.id

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.record.tenant_id

    @property
    def status(self) -> ProcessingStatus:
        return self.record.status

    @property
    def total_chunks(self) -> int:
        return self.record.total_chunks

    @property
    def completed_chunks(self) -> int:
        return sum(1 for task in self.tasks if task.status is ChunkStatus.COMPLETED)

    def get_progress(self) -> float:
        return round(100.0 * self.completed_chunks / self.total_chunks, 4)

    def get_tasks(self) -> list[ChunkTask]:
        return list(self.tasks)

    def chunk(self, index: int) -> ChunkTask:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.tasks):
            raise NotFound("ChunkTask", f"{self.id}#{index}")
        return self.tasks[index]

    # -- changing --------------------------------------------------------------------------------
    def start(self, at: datetime) -> ParallelProcessing:
        PROCESSING_LIFECYCLE.check(self.status, ProcessingStatus.PROCESSING)
        return self._with(self.record.evolve(status=ProcessingStatus.PROCESSING, started_at=at, updated_at=at))

    def start_chunk(self, index: int, at: datetime) -> ParallelProcessing:
        self._require(ProcessingStatus.PROCESSING)
        return self._replace(self.chunk(index).started(at), at)

    def complete_chunk(self, index: int, at: datetime) -> ParallelProcessing:
        self._require(ProcessingStatus.PROCESSING)
        done = self._replace(self.chunk(index).completed(at), at)
        if done.completed_chunks == done.total_chunks:
            return done._with(done.record.evolve(status=ProcessingStatus.MERGING, updated_at=at))
        return done

    def fail_chunk(self, index: int, error: str, at: datetime) -> ParallelProcessing:
        """A chunk failed: retried while it has retries left; the whole processing fails after."""
        self._require(ProcessingStatus.PROCESSING)
        after = self._replace(self.chunk(index).failed(error, at), at)
        if after.chunk(index).status is ChunkStatus.FAILED:
            return after.fail(f"chunk {index} failed: {error}", at)
        return after

    def complete(self, at: datetime) -> ParallelProcessing:
        """The merge is done."""
        PROCESSING_LIFECYCLE.check(self.status, ProcessingStatus.COMPLETED)
        return self._with(self.record.evolve(status=ProcessingStatus.COMPLETED, completed_at=at, updated_at=at))

    def fail(self, error: str, at: datetime) -> ParallelProcessing:
        PROCESSING_LIFECYCLE.check(self.status, ProcessingStatus.FAILED)
        return self._with(self.record.evolve(status=ProcessingStatus.FAILED, error_message=error[:10_000],
                                             completed_at=at, updated_at=at))

    def _require(self, status: ProcessingStatus) -> None:
        if self.status is not status:
            raise ValidationError("status", f"processing {self.id} is {self.status.value}, not {status.value}")

    def _replace(self, task: ChunkTask, at: datetime) -> ParallelProcessing:
        tasks = tuple(task if existing.chunk_index == task.chunk_index else existing for existing in self.tasks)
        completed = sum(1 for item in tasks if item.status is ChunkStatus.COMPLETED)
        record = self.record.evolve(completed_chunks=completed,
                                    progress=round(100.0 * completed / self.total_chunks, 4), updated_at=at)
        return ParallelProcessing(record, tasks)

    def _with(self, record: ProcessingRecord) -> ParallelProcessing:
        return ParallelProcessing(record, self.tasks)


ParallelProcessor = ParallelProcessing
"""Spec 002's name for the aggregate."""
