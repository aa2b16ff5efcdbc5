"""FastAPI dependency providers (spec 004's names), built from the container: one transaction per request.

    portside = PortsideDependencies(container, tenant=tenant_of_api_key)

    @app.post("/jobs")
    async def create_job(body: JobCreate, jobs: AsyncRepository = Depends(portside.get_job_repository)):
        return await jobs.create_job(body.job_type, payload=body.payload)

`get_db_transaction` begins the request's transaction for the tenant the application's own
dependency resolves (an API key through the control plane, a verified token...: never the request
body); every `get_<context>_unit_of_work` and repository provider of the request joins it. It
commits when the endpoint returns, before the response is sent (`Depends(scope="function")`), so a
client never sees a success whose commit failed, and rolls back when the endpoint raises, an
`HTTPException` included. The cache is not transactional: a value set in a request that rolls back
stays set (drop it, or set it only on a path that cannot fail afterwards).

Needs the `fastapi` extra; imported by applications, never by the rest of Portside.
"""

# No `from __future__ import annotations`: FastAPI reads the providers' signatures, whose
# `Annotated[..., Depends(...)]` aliases are local to `PortsideDependencies.__init__`.
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends

from application.container import Container
from ports.async_unit_of_work import AsyncCache, AsyncRepository, AsyncTransaction, AsyncUnitOfWork
from ports.unit_of_work import UnitOfWork

TenantDependency = Callable[..., Any]
"""A FastAPI dependency (sync or async, with its own dependencies) returning the tenant's id."""


class PortsideDependencies:
    """The providers, bound to one container and one tenant dependency."""

    def __init__(self, container: Container, tenant: TenantDependency) -> None:
        self.container = container
        self.tenant = tenant

        async def get_db_transaction(
            tenant_id: Annotated[uuid.UUID, Depends(tenant)],
        ) -> AsyncIterator[AsyncTransaction]:
            """The request's transaction: committed as the endpoint returns, rolled back if it raises."""
            async with container.async_transaction_manager().begin(tenant_id) as transaction:
                yield transaction

        self.get_db_transaction = get_db_transaction
        transaction = Annotated[AsyncTransaction, Depends(get_db_transaction, scope="function")]

        def joined(provider: str) -> Callable[..., Any]:
            async def get_unit_of_work(request_transaction: transaction) -> AsyncUnitOfWork[UnitOfWork]:
                return await request_transaction.join(getattr(container, provider)())

            get_unit_of_work.__name__ = f"get_{provider.removeprefix('async_')}"
            return get_unit_of_work

        self.get_tenancy_unit_of_work = joined("async_tenancy_unit_of_work")
        self.get_reliability_unit_of_work = joined("async_reliability_unit_of_work")
        self.get_processing_unit_of_work = joined("async_processing_unit_of_work")
        self.get_jobs_unit_of_work = joined("async_jobs_unit_of_work")
        self.get_control_plane_unit_of_work = joined("async_control_plane_unit_of_work")

        jobs_unit = Annotated[AsyncUnitOfWork[UnitOfWork], Depends(self.get_jobs_unit_of_work)]

        async def get_job_repository(uow: jobs_unit) -> AsyncRepository:
            """Spec 004's job repository, in the request's transaction."""
            return uow.jobs

        async def get_cache_repository(tenant_id: Annotated[uuid.UUID, Depends(tenant)]) -> AsyncCache:
            """Spec 004's cache repository: the request tenant's namespace."""
            cache: AsyncCache = container.async_cache().for_tenant(tenant_id)
            return cache

        self.get_job_repository = get_job_repository
        self.get_cache_repository = get_cache_repository
