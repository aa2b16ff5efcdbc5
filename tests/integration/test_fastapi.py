"""The example FastAPI service (`examples/fastapi_app.py`) through httpx's AsyncClient, on memory, SQLite
and PostgreSQL: spec 004's create-job endpoint, the cache-aside read, a failing endpoint whose writes
all roll back, and tenants that cannot see each other's rows through the API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from adapters.sql.database import SqlDatabase
from application.container import Container, build_container, in_memory_container
from application.settings import Settings
from examples.fastapi_app import create_app
from tests.servers import PostgresServer

Scenario = Callable[[httpx.AsyncClient, Container], Awaitable[None]]


@pytest.fixture
def container(backend: str, request: pytest.FixtureRequest,
              uow_factory_for_cleanup: Callable[[str], None]) -> Iterator[Container]:
    if backend == "memory":
        built = in_memory_container()
    else:
        uow_factory_for_cleanup(backend)
        if backend == "postgres":
            server: PostgresServer = request.getfixturevalue("postgres_server")
            url = server.app_url
        else:
            database: SqlDatabase = request.getfixturevalue("sqlite_database")
            url = database.engine.url.render_as_string(hide_password=False)
        built = build_container(Settings(database_url=url))
    yield built
    built.shutdown_resources()


def serve(container: Container, scenario: Scenario) -> None:
    """`scenario` against the app on a loop of its own; the async engine closed on that loop after."""

    async def main() -> None:
        transport = httpx.ASGITransport(app=create_app(container))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://portside.test") as client:
                await scenario(client, container)
        finally:
            if container.settings().default_backend == "sql":
                database = container.async_sql_database()
                assert database.checked_out() == 0
                await database.dispose()

    asyncio.run(main())


async def _tenant_key(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    response = await client.post("/applications", json={"tenant_name": name})
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


def _as(key: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": key["api_key"]}


def test_create_job_stores_it_for_the_key_s_tenant_and_caches_it(container: Container) -> None:
    async def scenario(client: httpx.AsyncClient, container: Container) -> None:
        acme = await _tenant_key(client, "Acme")
        someone_else = str(uuid.uuid4())
        response = await client.post("/jobs", headers=_as(acme), json={
            "job_type": "document_upload", "workspace_id": "ws-1", "payload": {"file": "a.pdf"},
            "tenant_id": someone_else})  # never read: the tenant is the key's
        assert response.status_code == 201, response.text
        job = response.json()
        assert (job["job_type"], job["status"], job["tenant_id"]) == ("document_upload", "QUEUED", acme["tenant_id"])
        read = await client.get(f"/jobs/{job['id']}", headers=_as(acme))
        assert read.json()["source"] == "cache" and read.json()["job"]["id"] == job["id"]
        async with container.async_jobs_unit_of_work().for_tenant(uuid.UUID(acme["tenant_id"])) as uow:
            stored = await uow.jobs.get_by_id(uuid.UUID(job["id"]))
        assert stored is not None and stored.payload == {"file": "a.pdf"}

    serve(container, scenario)


def test_a_job_is_read_from_the_database_once_then_from_the_cache(container: Container) -> None:
    async def scenario(client: httpx.AsyncClient, container: Container) -> None:
        acme = await _tenant_key(client, "Acme")
        async with container.async_jobs_unit_of_work().for_tenant(uuid.UUID(acme["tenant_id"])) as uow:
            job = await uow.jobs.create_job("report")  # written beside the API: not cached
        sources = [(await client.get(f"/jobs/{job.id}", headers=_as(acme))).json()["source"] for _ in range(2)]
        assert sources == ["database", "cache"]
        missing = await client.get(f"/jobs/{uuid.uuid4()}", headers=_as(acme))
        assert missing.status_code == 404

    serve(container, scenario)


def test_a_failing_endpoint_keeps_none_of_its_writes(container: Container) -> None:
    async def scenario(client: httpx.AsyncClient, container: Container) -> None:
        acme = await _tenant_key(client, "Acme")
        failed = await client.post("/tenant/rename-and-fail", headers=_as(acme))
        assert failed.status_code == 409
        assert (await client.get("/tenant", headers=_as(acme))).json()["name"] == "Acme"
        assert (await client.get("/jobs", headers=_as(acme))).json() == []

    serve(container, scenario)


def test_two_tenants_cannot_see_each_other_s_rows(container: Container) -> None:
    async def scenario(client: httpx.AsyncClient, container: Container) -> None:
        acme, globex = await _tenant_key(client, "Acme"), await _tenant_key(client, "Globex")
        theirs: Any = (await client.post("/jobs", headers=_as(acme), json={"job_type": "private"})).json()
        assert (await client.get(f"/jobs/{theirs['id']}", headers=_as(globex))).status_code == 404
        assert (await client.get("/jobs", headers=_as(globex))).json() == []
        assert [job["id"] for job in (await client.get("/jobs", headers=_as(acme))).json()] == [theirs["id"]]
        assert (await client.get("/tenant", headers=_as(globex))).json()["name"] == "Globex"

    serve(container, scenario)


def test_a_request_without_a_valid_key_is_refused_before_any_transaction(container: Container) -> None:
    async def scenario(client: httpx.AsyncClient, container: Container) -> None:
        assert (await client.get("/jobs", headers={"X-API-Key": "psk_not-a-key"})).status_code == 401
        assert (await client.get("/jobs")).status_code == 422  # the header is required

    serve(container, scenario)


def test_concurrent_requests_each_run_in_their_own_transaction(container: Container) -> None:
    async def scenario(client: httpx.AsyncClient, container: Container) -> None:
        acme = await _tenant_key(client, "Acme")
        responses = await asyncio.gather(*(
            client.post("/jobs", headers=_as(acme), json={"job_type": f"job-{index}"}) for index in range(8)))
        assert all(response.status_code == 201 for response in responses)
        assert len((await client.get("/jobs", headers=_as(acme))).json()) == 8

    serve(container, scenario)
