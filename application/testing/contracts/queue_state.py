"""The queue-state contract: order snapshots answer places and expire, statistics round-trip and
expire, queues and the all-queues statistics are separate, bad input is refused and writes nothing.

Bind it with a `queue_state` fixture: an empty store. Expiry is real time (Redis keeps its own
clock), so the snapshots here live a fraction of a second.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from domain.shared.errors import ValidationError
from ports.queue_state import QueueState, SnapshotRank


def _ids(count: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(count)]


class QueueStateContract:
    def test_no_snapshot_until_one_is_stored(self, queue_state: QueueState) -> None:
        assert queue_state.rank("exports", uuid.uuid4()) == SnapshotRank(False, None)
        assert queue_state.stats("exports") is None
        assert queue_state.stats(None) is None

    def test_an_order_snapshot_answers_each_place(self, queue_state: QueueState) -> None:
        ids = _ids(5)
        queue_state.store_order("exports", ids, ttl=30)
        assert [queue_state.rank("exports", job_id) for job_id in ids] == [
            SnapshotRank(True, place) for place in range(1, 6)]
        assert queue_state.rank("exports", uuid.uuid4()) == SnapshotRank(True, None)
        assert queue_state.rank("imports", ids[0]) == SnapshotRank(False, None)

    def test_an_empty_queue_has_a_snapshot_too(self, queue_state: QueueState) -> None:
        queue_state.store_order("empty", [], ttl=30)
        assert queue_state.rank("empty", uuid.uuid4()) == SnapshotRank(True, None)

    def test_a_new_snapshot_replaces_the_old_one_whole(self, queue_state: QueueState) -> None:
        first, second = _ids(3), _ids(2)
        queue_state.store_order("exports", first, ttl=30)
        queue_state.store_order("exports", [second[0], first[2], second[1]], ttl=30)
        assert queue_state.rank("exports", first[0]) == SnapshotRank(True, None)
        assert queue_state.rank("exports", first[2]) == SnapshotRank(True, 2)
        assert queue_state.rank("exports", second[1]) == SnapshotRank(True, 3)

    def test_a_large_snapshot_keeps_every_place(self, queue_state: QueueState) -> None:
        ids = _ids(25_000)
        queue_state.store_order("bulk", ids, ttl=30)
        for place in (1, 10_000, 10_001, 25_000):
            assert queue_state.rank("bulk", ids[place - 1]) == SnapshotRank(True, place)

    def test_snapshots_expire(self, queue_state: QueueState) -> None:
        ids = _ids(2)
        queue_state.store_order("exports", ids, ttl=1.5)  # read back in time on a loaded machine too
        queue_state.store_stats("exports", {"QUEUED": 2}, ttl=1.5)
        assert queue_state.rank("exports", ids[1]) == SnapshotRank(True, 2)
        time.sleep(1.8)
        assert queue_state.rank("exports", ids[1]) == SnapshotRank(False, None)
        assert queue_state.stats("exports") is None

    def test_statistics_round_trip_per_queue_and_for_all(self, queue_state: QueueState) -> None:
        queue_state.store_stats("exports", {"QUEUED": 3, "RUNNING": 1, "COMPLETED": 0}, ttl=30)
        queue_state.store_stats(None, {"QUEUED": 7}, ttl=30)
        assert queue_state.stats("exports") == {"QUEUED": 3, "RUNNING": 1, "COMPLETED": 0}
        assert queue_state.stats(None) == {"QUEUED": 7}
        assert queue_state.stats("imports") is None

    def test_forget_drops_a_queues_snapshots(self, queue_state: QueueState) -> None:
        ids = _ids(1)
        queue_state.store_order("exports", ids, ttl=30)
        queue_state.store_stats("exports", {"QUEUED": 1}, ttl=30)
        queue_state.store_stats(None, {"QUEUED": 1}, ttl=30)
        queue_state.forget("exports")
        assert queue_state.rank("exports", ids[0]) == SnapshotRank(False, None)
        assert queue_state.stats("exports") is None
        assert queue_state.stats(None) == {"QUEUED": 1}
        queue_state.forget(None)
        assert queue_state.stats(None) is None

    @pytest.mark.parametrize("call", [
        lambda state: state.store_order("bad queue!", [], ttl=1),
        lambda state: state.store_order("", [], ttl=1),
        lambda state: state.store_order(None, [], ttl=1),
        lambda state: state.store_order("q", "ids", ttl=1),
        lambda state: state.store_order("q", ["not-an-id"], ttl=1),
        lambda state: state.store_order("q", [uuid.UUID(int=1), uuid.UUID(int=1)], ttl=1),
        lambda state: state.store_order("q", [], ttl=0),
        lambda state: state.store_order("q", [], ttl=-1),
        lambda state: state.store_order("q", [], ttl=float("nan")),
        lambda state: state.store_order("q", [], ttl=True),
        lambda state: state.store_stats("q", {"QUEUED": -1}, ttl=1),
        lambda state: state.store_stats("q", {"QUEUED": 1.5}, ttl=1),
        lambda state: state.store_stats("q", ["QUEUED"], ttl=1),
        lambda state: state.store_stats("q", {"": 1}, ttl=1),
        lambda state: state.rank("q", "not-an-id"),
        lambda state: state.rank(7, uuid.uuid4()),
        lambda state: state.stats("a b"),
        lambda state: state.forget("a b"),
    ])
    def test_bad_input_is_refused_and_writes_nothing(self, queue_state: QueueState, call: Any) -> None:
        with pytest.raises(ValidationError):
            call(queue_state)
        assert queue_state.rank("q", uuid.UUID(int=1)) == SnapshotRank(False, None)
        assert queue_state.stats("q") is None
