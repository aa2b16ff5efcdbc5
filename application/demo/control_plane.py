"""The control-plane scenario: an organization registers an application and gets its key once, a
policy and its audit entry land together, policies resolve most specific first, the key rotates and
is revoked, inference requests give metrics, audit entries are written in batches behind the caller,
and deleting the organization removes everything it owned."""

from __future__ import annotations

from datetime import timedelta

from application.console import Report
from application.container import Container
from application.control_plane.commands import InferenceRecord, NewApplication, NewPolicy, NewUser
from application.tenancy.use_cases import NewTenant
from domain.control_plane.audit import AuditLog
from domain.control_plane.errors import ApiKeyRejected
from domain.shared.errors import ValidationError
from domain.shared.ids import new_id


def run(container: Container, report: Report) -> None:
    report.heading("control plane: API keys, policies, audit trail, inference metrics")
    suffix = new_id().hex[-6:]  # each run gets its own organization, so the demo can run again
    organization = container.create_tenant()(NewTenant.parse(name=f"Acme AI {suffix}"))
    org = organization.id
    application, key = container.register_application()(NewApplication.parse(tenant_id=org, name="chat"))
    ann = container.register_user()(NewUser.parse(tenant_id=org, email=f"ann-{suffix}@acme.test",
                                                  subject=f"cognito-{suffix}"))
    report.note(f"organization '{organization.slug}' registered application 'chat'; its key, shown once, "
                f"starts with {key.prefix}... and only its hash is stored")
    authenticated = container.authenticate_api_key()(key.secret)
    report.note(f"the key authenticates application {authenticated.name!r}")

    define = container.define_policy()
    define(NewPolicy.parse(tenant_id=org, policy_type="rate_limit", config={"requests_per_minute": 600}))
    define(NewPolicy.parse(tenant_id=org, policy_type="rate_limit", config={"requests_per_minute": 60},
                           application_id=application.id, priority=5, actor_user_id=ann.id, request_id="req-1"))
    define(NewPolicy.parse(tenant_id=org, policy_type="cost_limit", config={"limit_cents": 500, "period": "day"},
                           user_id=ann.id))
    try:
        define(NewPolicy.parse(tenant_id=org, policy_type="rate_limit", config={"requests_per_minute": -1}))
    except ValidationError as error:
        report.note(f"a rate limit of -1 is refused: ValidationError on '{error.field}', nothing written")
    applicable = container.resolve_policies()(org, application.id, ann.id)
    report.table(["applies", "scope", "type", "priority", "config"],
                 [[n, p.scope.value, p.policy_type.value, p.priority, p.config] for n, p in enumerate(applicable, 1)])

    _, new_key = container.rotate_api_key()(org, application.id)
    container.revoke_api_key()(org, application.id)
    for label, secret in (("the first key", key.secret), ("after revocation, the rotated key", new_key.secret)):
        try:
            container.authenticate_api_key()(secret)
        except ApiKeyRejected:
            report.note(f"{label} is refused: ApiKeyRejected")

    clock = container.clock()
    start = clock.now()
    record = container.record_inference()
    for minute, (model, status, latency, cost) in enumerate((
        ("gpt-4o", "completed", 420, 12), ("gpt-4o", "completed", 380, 11), ("claude", "failed", 1500, 0),
        ("claude", "completed", 610, 20),
    )):
        record(InferenceRecord.parse(tenant_id=org, application_id=application.id, user_id=ann.id, provider="x",
                                     model=model, status=status, latency_ms=latency, cost_cents=cost,
                                     requested_at=start + timedelta(minutes=minute)))
    metrics = container.inference_metrics()(org, start, start + timedelta(hours=1))
    report.table(["requests", "cost (cents)", "avg latency (ms)", "p95 latency (ms)", "error rate"],
                 [[metrics.total_requests, metrics.total_cost_cents, metrics.avg_latency_ms, metrics.p95_latency_ms,
                   metrics.error_rate]])

    writer = container.audit_writer()
    for number in range(200):
        writer.submit(AuditLog.record(tenant_id=org, action="inference.completed", resource_type="request",
                                      at=clock.now(), details={"n": number}))
    writer.flush()
    with container.control_plane_unit_of_work().for_tenant(org) as uow:
        trail = uow.audit_logs.list_and_count()
        first_actions = [entry.action for entry in reversed(uow.audit_logs.get_by_date_range(
            start - timedelta(days=1), start + timedelta(days=1), limit=500)) if entry.action != "inference.completed"]
    report.note(f"200 audit entries accepted without waiting and stored in batches: the trail holds {trail.total}")
    report.note("audit trail: " + ", ".join(first_actions))

    container.delete_tenant()(org)
    with container.control_plane_unit_of_work().for_tenant(org) as uow:
        left = {"applications": uow.applications.count(), "users": uow.users.count(),
                "policies": uow.policies.count(), "audit entries": uow.audit_logs.count()}
    # In SQL the cascade takes the audit trail too; BigQuery keeps it until purged (no foreign keys).
    report.note("deleting the organization cascaded; rows left: " + ", ".join(f"{k} {v}" for k, v in left.items()))
