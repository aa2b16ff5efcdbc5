"""A small FastAPI service on Portside (docs/fastapi.md): spec 004's create-job endpoint and
cache-aside read, one transaction per request, the tenant from the caller's API key.

    PORTSIDE_DATABASE_URL=sqlite:///portside.db portside init
    PORTSIDE_DATABASE_URL=sqlite:///portside.db uvicorn examples.fastapi_app:app

Every request names its tenant through `X-API-Key`, an application key the control plane issued
(`POST /applications` below registers one for a demo tenant); the body never does.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

from application.container import Container, awaitable_use_case, build_container, shutdown_async
from application.control_plane.commands import NewApplication
from application.fastapi_providers import PortsideDependencies
from domain.control_plane.errors import ApiKeyRejected
from domain.jobs.job import Job
from domain.tenancy.tenant import Tenant
from ports.async_unit_of_work import AsyncCache, AsyncRepository, AsyncUnitOfWork
from ports.unit_of_work import UnitOfWork

VIEW_TTL = 60.0
"""Seconds a job's API view is served from the cache: how stale a status it may show."""


def _view_key(job_id: uuid.UUID) -> str:
    # Not Portside's own `job:<id>` record key, which the jobs unit of work drops after every commit
    # that writes the job: that would drop this entry as the create request commits.
    return f"api:job:{job_id}"


def create_app(container: Container | None = None) -> FastAPI:
    container = container or build_container()
    authenticate = awaitable_use_case(container, "authenticate_api_key")
    register_application = awaitable_use_case(container, "register_application")

    async def tenant_of_api_key(x_api_key: Annotated[str, Header()]) -> uuid.UUID:
        """The tenant is whoever the key belongs to: resolved through the control plane."""
        try:
            application = await authenticate(x_api_key)
        except ApiKeyRejected:
            raise HTTPException(status_code=401, detail="unknown or revoked API key") from None
        tenant_id: uuid.UUID = application.tenant_id
        return tenant_id

    portside = PortsideDependencies(container, tenant=tenant_of_api_key)
    # The endpoints' parameter types: FastAPI resolves each through its provider.
    JobsDep = Annotated[AsyncRepository, Depends(portside.get_job_repository)]  # noqa: N806 - a type alias
    CacheDep = Annotated[AsyncCache, Depends(portside.get_cache_repository)]  # noqa: N806 - a type alias
    TenancyDep = Annotated[AsyncUnitOfWork[UnitOfWork], Depends(portside.get_tenancy_unit_of_work)]  # noqa: N806 - a type alias

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await shutdown_async(container)  # on the loop that opened its connections

    app = FastAPI(title="Portside example", lifespan=lifespan)

    class JobCreate(BaseModel):
        job_type: str = Field(min_length=1, max_length=100)
        workspace_id: str | None = None
        payload: dict[str, Any] = Field(default_factory=dict)

    class ApplicationCreate(BaseModel):
        tenant_name: str = Field(min_length=1, max_length=200)

    @app.post("/applications", status_code=201)
    async def create_application(body: ApplicationCreate) -> dict[str, str]:
        """Demo bootstrap: a tenant and an application key for it (a real service guards this)."""
        tenant = Tenant.register(name=body.tenant_name, slug=f"t-{uuid.uuid4().hex[:12]}", at=container.clock().now())
        async with container.async_tenancy_unit_of_work().system() as uow:
            await uow.tenants.create(tenant)
        application, key = await register_application(NewApplication(tenant_id=tenant.id, name="api"))
        return {"tenant_id": str(tenant.id), "application_id": str(application.id), "api_key": key.secret}

    @app.post("/jobs", status_code=201)
    async def create_job(body: JobCreate, jobs: JobsDep, cache: CacheDep) -> Job:
        """Spec 004's example: create the job, cache it."""
        job: Job = await jobs.create_job(body.job_type, workspace_id=body.workspace_id, payload=body.payload)
        await cache.set(_view_key(job.id), job.model_dump(mode="json"), ttl=VIEW_TTL)
        return job

    @app.get("/jobs/{job_id}")
    async def get_job(job_id: uuid.UUID, jobs: JobsDep, cache: CacheDep) -> dict[str, Any]:
        """Cache-aside: the cache first, then the database (and the cache filled for next time)."""
        cached = await cache.get(_view_key(job_id))
        if cached is not None:
            return {"source": "cache", "job": cached}
        job = await jobs.get_by_id(job_id)
        if job is None:
            raise HTTPException(status_code=404, detail="no such job")
        await cache.set(_view_key(job_id), job.model_dump(mode="json"), ttl=VIEW_TTL)
        return {"source": "database", "job": job.model_dump(mode="json")}

    @app.get("/jobs")
    async def list_jobs(jobs: JobsDep) -> list[Job]:
        page = await jobs.list_and_count()
        items: list[Job] = page.items
        return items

    @app.post("/tenant/rename-and-fail")
    async def rename_and_fail(jobs: JobsDep, tenancy: TenancyDep) -> None:
        """Writes two contexts, then fails: the request's transaction rolls both back."""
        tenant = await tenancy.tenants.get_by_id_or_raise(tenancy.scope.tenant)
        await tenancy.tenants.update(tenant.rename(f"{tenant.name} (renamed)", container.clock().now()))
        await jobs.create_job("doomed")
        raise HTTPException(status_code=409, detail="refused after writing: nothing is kept")

    @app.get("/tenant")
    async def current_tenant(tenancy: TenancyDep) -> Tenant:
        found: Tenant = await tenancy.tenants.get_by_id_or_raise(tenancy.scope.tenant)
        return found

    return app


app = create_app()
