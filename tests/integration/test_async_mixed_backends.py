"""An awaited use case on a service whose default backend is SQL but whose processing context is on
BigQuery: the use case runs in the greenlet runner (SQL's), and each BigQuery job it sends waits on
a thread of the loop's executor, never on the loop itself."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from dependency_injector import providers

from adapters.bigquery.database import BigQueryDatabase
from adapters.bigquery.querying import Runner
from application.container import awaitable_use_case, build_container, shutdown_async
from application.processing.commands import Purchase
from application.settings import Settings
from tests.servers import PostgresServer

pytestmark = [pytest.mark.bigquery, pytest.mark.postgres]


def test_an_awaited_use_case_on_sql_sends_its_bigquery_jobs_off_the_loop(
        postgres_server: PostgresServer, postgres_database: Any, bigquery_database: BigQueryDatabase,
        monkeypatch: pytest.MonkeyPatch) -> None:
    container = build_container(Settings(database_url=postgres_server.app_url, processing_backend="bigquery",
                                         bigquery_project=bigquery_database.settings.project))
    container.bigquery_database.override(providers.Object(bigquery_database))
    assert container.settings().default_backend == "sql"
    threads: list[int] = []
    original: Callable[..., Any] = Runner._once

    def observed(runner: Runner, *args: Any) -> Any:
        threads.append(threading.get_ident())  # where the job waits; the job itself is sent as ever
        return original(runner, *args)

    monkeypatch.setattr(Runner, "_once", observed)
    tenant = uuid.uuid4()

    async def main() -> tuple[Any, int, float]:
        purchase = awaitable_use_case(container, "purchase_processor")
        loop = asyncio.get_running_loop()
        worst = 0.0
        bought = asyncio.ensure_future(purchase(Purchase(tenant_id=tenant, processor="p_bank_statement")))
        while not bought.done():
            asked = loop.time()
            await asyncio.sleep(0.002)
            worst = max(worst, loop.time() - asked)
        try:
            return await bought, threading.get_ident(), worst
        finally:
            await shutdown_async(container)

    purchased, loop_thread, worst = asyncio.run(main())
    assert purchased.processor == "p_bank_statement" and purchased.organization_id == tenant
    assert threads and loop_thread not in threads
    # Each emulator job takes tens of milliseconds; on the loop the ticker would have waited as long.
    assert worst < 0.25, f"the loop stalled {worst:.3f} s"
