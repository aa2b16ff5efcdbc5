"""The processing contract on BigQuery through the async face: every sync call of the BigQuery
adapter runs on the thread lanes (`ThreadLaneRunner`), never on the loop, a task's calls on one
lane; a fresh dataset per test on the session's emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest

from adapters.asynchronous.runners import ThreadLaneRunner
from adapters.bigquery.backend import BigQueryBackend
from adapters.bigquery.database import BigQueryDatabase
from adapters.rules.processing import processing_units
from application.testing.async_bridge import EventLoopThread, SyncBridge
from application.testing.contracts.processing import ProcessingContract, World, seed_world
from ports.processing import ProcessingUnitOfWorkFactory
from tests.contract.test_async_contracts import bridged

pytestmark = pytest.mark.bigquery


@pytest.fixture
def lanes() -> Iterator[ThreadLaneRunner]:
    runner = ThreadLaneRunner(4)
    yield runner
    runner.close()


@pytest.fixture
def bridge() -> Iterator[SyncBridge]:
    loop = EventLoopThread("portside-async-bigquery")
    bridge = SyncBridge(loop)
    yield bridge
    bridge.close()
    loop.close()


@pytest.fixture
def processing_uow(bigquery_database: BigQueryDatabase, lanes: ThreadLaneRunner,
                   bridge: SyncBridge) -> ProcessingUnitOfWorkFactory:
    return cast(ProcessingUnitOfWorkFactory, bridged(processing_units(BigQueryBackend(bigquery_database)), lanes,
                                                     bridge))


@pytest.fixture
def world(processing_uow: ProcessingUnitOfWorkFactory) -> World:
    return seed_world(processing_uow)


class TestAsyncProcessingOnBigQuery(ProcessingContract):
    # As on the sync face: the emulator runs one job at a time, one round of racing appends shows it.
    APPEND_RACE_ROUNDS = 1
