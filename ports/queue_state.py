"""Queue state kept beside the jobs table (spec 002's secondary storage): snapshots that make a
queue's positions and statistics cheap to read. Never the only copy of anything: every entry is
rebuilt from the jobs table when it is missing or expired, and a store that cannot be reached
raises `StorageUnavailable`, on which the use cases read the table directly (slower, same answers).

A snapshot is as old as its time to live at most: a position read from one counts the jobs claimed
since it was taken as still ahead. Statistics span every tenant (an operator's view), positions are
only answered for a job its own tenant has read.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SnapshotRank:
    taken: bool
    """Whether the queue has a live order snapshot."""
    position: int | None
    """The job's 1-based place in it; None when the job is not in it (queued after it was taken)."""


class QueueState(ABC):
    @abstractmethod
    def rank(self, queue_name: str, job_id: uuid.UUID) -> SnapshotRank:
        """The job's place in the queue's order snapshot (one round trip)."""

    @abstractmethod
    def store_order(self, queue_name: str, job_ids: Sequence[uuid.UUID], ttl: float) -> None:
        """Replace the queue's order snapshot, at once for readers: `job_ids` in claim order."""

    @abstractmethod
    def stats(self, queue_name: str | None) -> dict[str, int] | None:
        """The queue's (None: every queue's) snapshot of jobs per status, or None when there is none."""

    @abstractmethod
    def store_stats(self, queue_name: str | None, counts: Mapping[str, int], ttl: float) -> None: ...

    @abstractmethod
    def forget(self, queue_name: str | None) -> None:
        """Drop the queue's snapshots (they are rebuilt at the next read)."""

    def close(self) -> None:  # noqa: B027 - optional: most stores hold nothing
        """Release what the store holds."""
