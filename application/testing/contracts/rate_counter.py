"""The rate counter port's contract: what every `RateCounter` adapter does.

Bind with a `rate_counter` fixture returning a counter on an empty store. Nothing here depends on
how the counter stores its counts, so the same suite serves memory, SQL and Redis.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.shared.errors import ValidationError
from ports.rate_limit import RateCounter, minute_window

MINUTE = datetime(2026, 3, 1, 12, 34, tzinfo=UTC)


class RateCounterContract:
    def test_hits_count_up_from_one(self, rate_counter: RateCounter) -> None:
        assert rate_counter.count("stripe", MINUTE) == 0
        assert [rate_counter.hit("stripe", MINUTE) for _ in range(3)] == [1, 2, 3]
        assert rate_counter.count("stripe", MINUTE) == 3

    def test_keys_and_windows_count_apart(self, rate_counter: RateCounter) -> None:
        rate_counter.hit("stripe", MINUTE)
        rate_counter.hit("stripe", MINUTE)
        assert rate_counter.hit("adyen", MINUTE) == 1
        assert rate_counter.hit("stripe", MINUTE + timedelta(minutes=1)) == 1
        assert rate_counter.hit("Stripe", MINUTE) == 1  # keys are exact
        assert rate_counter.count("stripe", MINUTE) == 2
        assert rate_counter.count("stripe", MINUTE - timedelta(minutes=1)) == 0

    def test_a_window_is_an_instant_whatever_its_offset(self, rate_counter: RateCounter) -> None:
        rate_counter.hit("stripe", MINUTE)
        elsewhere = MINUTE.astimezone(timezone(timedelta(hours=5, minutes=30)))
        assert rate_counter.hit("stripe", elsewhere) == 2
        assert rate_counter.count("stripe", minute_window(MINUTE + timedelta(seconds=59))) == 2

    def test_concurrent_hits_get_distinct_counts(self, rate_counter: RateCounter) -> None:
        threads, per_thread = 16, 10
        barrier = threading.Barrier(threads)
        seen: list[int] = []
        failures: list[BaseException] = []

        def hammer() -> None:
            try:
                barrier.wait(10)
                counts = [rate_counter.hit("stripe", MINUTE) for _ in range(per_thread)]
                seen.extend(counts)
            except BaseException as error:  # reported below, not lost in the thread
                failures.append(error)

        workers = [threading.Thread(target=hammer) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert failures == []
        assert sorted(seen) == list(range(1, threads * per_thread + 1))
        assert rate_counter.count("stripe", MINUTE) == threads * per_thread

    @pytest.mark.parametrize(("key", "window", "field"), [
        ("", MINUTE, "key"),
        (42, MINUTE, "key"),
        ("stripe", MINUTE.replace(tzinfo=None), "window"),
        ("stripe", MINUTE + timedelta(seconds=1), "window"),
        ("stripe", MINUTE + timedelta(microseconds=1), "window"),
        ("stripe", "2026-03-01T12:34:00Z", "window"),
    ])
    def test_bad_input_names_the_field(self, rate_counter: RateCounter, key: Any, window: Any, field: str) -> None:
        for call in (rate_counter.hit, rate_counter.count):
            with pytest.raises(ValidationError) as raised:
                call(key, window)
            assert raised.value.field == field
        assert rate_counter.count("stripe", MINUTE) == 0
