"""Spec 003's usage examples (its README, written for Go), transcribed into Python on memory, SQLite
and PostgreSQL (the `backend` fixture's parameter).

What differs from the spec's text, and why: Go passes `ctx` to every call and the repositories find
the transaction in it; Portside's repositories live on a unit of work opened for the organization,
and `in_transaction(fn, tenant)` hands `fn` a `Transaction` whose `join` gives any context's unit of
work inside it. `models.NewOrganization("Acme Corp", "acme-corp")` is the tenancy context's
`Tenant.register`: the organization is the tenant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.control_plane.application import Application
from domain.control_plane.audit import AuditLog
from domain.control_plane.inference import InferenceRequest
from domain.control_plane.policy import Policy, PolicyType
from domain.control_plane.user import User
from domain.tenancy.tenant import Tenant
from ports.control_plane import ControlPlaneUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory
from ports.transactions import Transaction, TransactionManager

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_basic_crud(tenancy_uow: TenancyUnitOfWorkFactory) -> None:
    # org := models.NewOrganization("Acme Corp", "acme-corp"); repos.Organizations.Create(ctx, org)
    org = Tenant.register(name="Acme Corp", slug="acme-corp", at=NOW)
    with tenancy_uow.system() as repos:
        repos.tenants.create(org)
    # retrieved, err := repos.Organizations.GetByID(ctx, org.ID)
    with tenancy_uow.system() as repos:
        assert repos.tenants.get_by_id(org.id) == org
        assert repos.tenants.get_by_slug("acme-corp") == org


def test_transactions(tenancy_uow: TenancyUnitOfWorkFactory, control_plane_uow: ControlPlaneUnitOfWorkFactory,
                      transaction_manager: TransactionManager) -> None:
    org = Tenant.register(name="Acme Corp", slug="acme-corp", at=NOW)
    with tenancy_uow.system() as uow:
        uow.tenants.create(org)
    config = {"requests_per_minute": 100}

    def in_transaction(tx: Transaction) -> None:
        repos = tx.join(control_plane_uow)
        # policy := models.NewPolicy(orgID, models.PolicyTypeRateLimit, config, 10)
        policy = Policy.define(tenant_id=org.id, policy_type=PolicyType.RATE_LIMIT, config=config, priority=10,
                               at=NOW)
        repos.policies.create(policy)
        # auditLog := models.NewAuditLog(orgID, models.AuditActionPolicyCreated, "policy"); .WithResource(policy.ID)
        repos.audit_logs.insert(AuditLog.record(tenant_id=org.id, action="policy.created", resource_type="policy",
                                                resource_id=policy.id, at=NOW))

    transaction_manager.in_transaction(in_transaction, org.id)
    with control_plane_uow.for_tenant(org.id) as repos:
        [policy] = repos.policies.get_by_org_id(org.id)
        [entry] = repos.audit_logs.get_by_org_id(org.id)
    assert (policy.priority, entry.resource_id) == (10, policy.id)


def test_hierarchical_queries_pagination_and_metrics(tenancy_uow: TenancyUnitOfWorkFactory,
                                                     control_plane_uow: ControlPlaneUnitOfWorkFactory) -> None:
    org = Tenant.register(name="Acme Corp", slug="acme-corp", at=NOW)
    with tenancy_uow.system() as uow:
        uow.tenants.create(org)
    app, _ = Application.register(tenant_id=org.id, name="chat", at=NOW)
    user = User.register(tenant_id=org.id, email="ann@acme.test", subject="cognito-ann", at=NOW)
    with control_plane_uow.for_tenant(org.id) as repos:
        repos.applications.create(app)
        repos.users.create(user)
        for application_id, user_id in ((None, None), (app.id, None), (None, user.id)):
            repos.policies.create(Policy.define(tenant_id=org.id, policy_type="rate_limit",
                                                config={"requests_per_minute": 10}, at=NOW,
                                                application_id=application_id, user_id=user_id))
        repos.audit_logs.insert_many([AuditLog.record(tenant_id=org.id, action="inference.completed",
                                                      resource_type="request", at=NOW + timedelta(seconds=n))
                                      for n in range(30)])
        repos.inference_requests.create(InferenceRequest.record(
            tenant_id=org.id, application_id=app.id, provider="openai", model="gpt-4o", status="completed",
            at=NOW - timedelta(hours=1), latency_ms=250, cost_cents=125))
    with control_plane_uow.for_tenant(org.id) as repos:
        # policies, err := policyRepo.GetApplicablePolicies(ctx, orgID, appID, &userID): user > app > org
        policies = repos.policies.get_applicable_policies(org.id, app.id, user.id)
        assert [policy.scope.value for policy in policies] == ["user", "application", "organization"]
        # logs, err := repos.AuditLogs.GetByOrgID(ctx, orgID, limit, offset)
        assert len(repos.audit_logs.get_by_org_id(org.id, 20, 0)) == 20
        assert len(repos.audit_logs.get_by_org_id(org.id, 20, 20)) == 10
        # metrics, err := inferenceRepo.GetMetrics(ctx, orgID, time.Now().Add(-24*time.Hour), time.Now())
        metrics = repos.inference_requests.get_metrics(org.id, NOW - timedelta(hours=24), NOW)
    assert (metrics.total_requests, metrics.total_cost_cents, metrics.avg_latency_ms) == (1, 125, 250.0)
