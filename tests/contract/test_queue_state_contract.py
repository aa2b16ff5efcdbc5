"""The queue-state contract on the in-process store and on Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.queue_state.memory import MemoryQueueState
from adapters.queue_state.redis import RedisQueueState
from adapters.redis.client import RedisSettings, create_redis_client
from application.testing.contracts.queue_state import QueueStateContract
from ports.queue_state import QueueState
from tests.servers import RedisServer


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def queue_state(request: pytest.FixtureRequest) -> Iterator[QueueState]:
    if request.param == "memory":
        yield MemoryQueueState()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    client = create_redis_client(RedisSettings(url=server.url))
    stale = list(client.scan_iter(match="portside:jobs:*"))
    if stale:
        client.delete(*stale)
    try:
        yield RedisQueueState(client)
    finally:
        client.close()


class TestQueueState(QueueStateContract):
    pass
