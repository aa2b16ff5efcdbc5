"""The control-plane use cases on every backend: the API key lifecycle, a policy and its audit entry
landing together or not at all, and bad input refused with typed errors and nothing written."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from application.container import Container
from application.control_plane.commands import InferenceRecord, NewApplication, NewPolicy, NewUser, PolicyChange
from application.tenancy.use_cases import NewTenant
from domain.control_plane.errors import ApiKeyRejected
from domain.control_plane.inference import InferenceStatus
from domain.shared.errors import ConcurrencyConflict, Conflict, NotFound, StorageError, ValidationError
from domain.tenancy.tenant import Tenant


@pytest.fixture
def organization(container: Container) -> Tenant:
    return container.create_tenant()(NewTenant.parse(name="Acme Corp"))


def audit_actions(container: Container, organization: Tenant) -> list[str]:
    with container.control_plane_unit_of_work().for_tenant(organization.id) as uow:
        return [entry.action for entry in reversed(uow.audit_logs.get_by_org_id(organization.id))]


def test_the_api_key_lifecycle(container: Container, organization: Tenant) -> None:
    application, key = container.register_application()(NewApplication.parse(tenant_id=organization.id, name="Chat"))
    assert key.secret not in repr(key)
    assert key.secret not in application.model_dump_json()  # only the hash is stored
    assert container.authenticate_api_key()(key.secret).id == application.id
    with pytest.raises(ApiKeyRejected):
        container.authenticate_api_key()(key.secret[:-1] + ("A" if key.secret[-1] != "A" else "B"))
    with pytest.raises(ApiKeyRejected):
        container.authenticate_api_key()("not even a key")
    rotated, new_key = container.rotate_api_key()(organization.id, application.id)
    with pytest.raises(ApiKeyRejected):
        container.authenticate_api_key()(key.secret)  # the old key stopped working
    assert container.authenticate_api_key()(new_key.secret).id == application.id
    container.revoke_api_key()(organization.id, rotated.id)
    with pytest.raises(ApiKeyRejected):
        container.authenticate_api_key()(new_key.secret)
    assert audit_actions(container, organization) == ["application.created", "api_key.rotated", "api_key.revoked"]


def test_a_policy_and_its_audit_entry_land_together(container: Container, organization: Tenant) -> None:
    application, _ = container.register_application()(NewApplication.parse(tenant_id=organization.id, name="Chat"))
    policy = container.define_policy()(NewPolicy.parse(
        tenant_id=organization.id, policy_type="cost_limit", config={"limit_cents": 5000, "period": "day"},
        application_id=application.id, request_id="req-1"))
    changed = container.change_policy()(PolicyChange.parse(tenant_id=organization.id, policy_id=policy.id,
                                                           priority=4, expected_version=1))
    assert changed.priority == 4 and changed.version == 2
    with container.control_plane_unit_of_work().for_tenant(organization.id) as uow:
        [updated, created] = uow.audit_logs.get_by_app_id(application.id)[:2]
    assert (created.action, created.resource_id, created.request_id) == ("policy.created", policy.id, "req-1")
    assert updated.details == {"before": {"priority": 0}, "after": {"priority": 4}}
    with pytest.raises(ConcurrencyConflict):
        container.change_policy()(PolicyChange.parse(tenant_id=organization.id, policy_id=policy.id, priority=1,
                                                     expected_version=1))
    assert audit_actions(container, organization).count("policy.updated") == 1  # the refused change wrote nothing


def test_a_policy_whose_audit_entry_fails_is_not_stored(container: Container, organization: Tenant,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from application.control_plane import use_cases

    def failing_audit(*args: object, **kwargs: object) -> None:
        raise StorageError("the audit log is unavailable")

    monkeypatch.setattr(use_cases, "_audit", failing_audit)
    with pytest.raises(StorageError):
        container.define_policy()(NewPolicy.parse(tenant_id=organization.id, policy_type="rate_limit",
                                                  config={"requests_per_minute": 10}))
    with container.control_plane_unit_of_work().for_tenant(organization.id) as uow:
        assert uow.policies.count() == 0 and uow.audit_logs.count() == 0


def test_bad_input_is_refused_with_typed_errors_and_nothing_written(container: Container,
                                                                    organization: Tenant) -> None:
    ghost = uuid.uuid4()
    with pytest.raises(NotFound):
        container.register_application()(NewApplication.parse(tenant_id=ghost, name="Chat"))
    with pytest.raises(Conflict, match="slug"):
        container.create_tenant()(NewTenant.parse(name="Acme Corp"))
    container.register_user()(NewUser.parse(tenant_id=organization.id, email="ann@acme.test", subject="s-1"))
    with pytest.raises(Conflict, match="email"):
        container.register_user()(NewUser.parse(tenant_id=organization.id, email="ANN@acme.test", subject="s-2"))
    with pytest.raises(ValidationError, match="policy_type"):
        NewPolicy.parse(tenant_id=organization.id, policy_type="speed_limit", config={})
    with pytest.raises(ValidationError) as raised:
        NewPolicy.parse(tenant_id=organization.id, policy_type="rate_limit", config={"requests_per_minute": -5})
    assert raised.value.field == "config.requests_per_minute"
    with pytest.raises(ValidationError, match="unknown keys"):
        NewPolicy.parse(tenant_id=organization.id, policy_type="model_allowlist", config={"models": ["a"], "x": 1})
    with pytest.raises(NotFound):
        container.define_policy()(NewPolicy.parse(tenant_id=organization.id, policy_type="rate_limit",
                                                  config={"requests_per_minute": 1}, application_id=uuid.uuid4()))
    with container.control_plane_unit_of_work().for_tenant(organization.id) as uow:
        assert (uow.applications.count(), uow.users.count(), uow.policies.count()) == (0, 1, 0)
        assert [e.action for e in uow.audit_logs.get_by_org_id(organization.id)] == ["user.created"]


def test_metrics_over_recorded_inference(container: Container, organization: Tenant) -> None:
    application, _ = container.register_application()(NewApplication.parse(tenant_id=organization.id, name="Chat"))
    start = container.clock().now()
    for index, latency in enumerate([100, 200, 300, 400]):
        container.record_inference()(InferenceRecord.parse(
            tenant_id=organization.id, application_id=application.id, provider="anthropic", model="claude",
            status="failed" if index == 3 else "completed", latency_ms=latency, cost_cents=10,
            requested_at=start + timedelta(minutes=index)))
    metrics = container.inference_metrics()(organization.id, start, start + timedelta(hours=1))
    assert (metrics.total_requests, metrics.total_cost_cents, metrics.avg_latency_ms, metrics.p95_latency_ms,
            metrics.error_rate) == (4, 40, 250.0, 400.0, 0.25)
    with container.control_plane_unit_of_work().for_tenant(organization.id) as uow:
        assert len(uow.inference_requests.get_by_status(InferenceStatus.FAILED)) == 1
