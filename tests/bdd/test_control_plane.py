"""Steps of features/control_plane/*.feature: policy resolution, the API key lifecycle, the audit
trail of a policy change in one transaction, inference metrics over a date range. Organizations come
from the shared steps (`conftest.py`); what this context adds is kept in a `Plane` per scenario."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from application.container import Container
from application.control_plane import use_cases
from application.control_plane.commands import InferenceRecord, NewApplication, NewPolicy, NewUser, PolicyChange
from domain.control_plane.api_keys import IssuedKey
from domain.control_plane.application import Application
from domain.control_plane.audit import AuditLog
from domain.control_plane.inference import InferenceMetrics
from domain.control_plane.policy import Policy
from domain.control_plane.user import User
from domain.shared.errors import StorageError
from ports.control_plane import ControlPlaneUnitOfWorkFactory
from tests.bdd.world import World, moment, table_rows, yes_no

scenarios(
    "control_plane/policy_resolution.feature",
    "control_plane/api_key_lifecycle.feature",
    "control_plane/policy_audit_trail.feature",
    "control_plane/inference_metrics.feature",
)


@dataclass
class Plane:
    """What the control-plane steps of one scenario share."""

    container: Container
    applications: dict[tuple[str, str], Application] = field(default_factory=dict)
    """By (organization, application name)."""
    users: dict[str, User] = field(default_factory=dict)
    """By email (unique across a scenario)."""
    policies: dict[str, Policy] = field(default_factory=dict)
    """By the label the scenario gave them."""
    keys: list[IssuedKey] = field(default_factory=list)
    """Every key issued in the scenario, the newest last."""
    resolved: list[Policy] = field(default_factory=list)
    policy: Policy | None = None
    metrics: InferenceMetrics | None = None

    @property
    def units(self) -> ControlPlaneUnitOfWorkFactory:
        factory: ControlPlaneUnitOfWorkFactory = self.container.control_plane_unit_of_work()
        return factory

    def application(self, organization: str, name: str) -> Application:
        return self.applications[(organization, name)]

    def only_application(self, name: str) -> Application:
        [found] = [app for (_, app_name), app in self.applications.items() if app_name == name]
        return found

    def audit_trail(self, tenant_id: uuid.UUID) -> list[AuditLog]:
        with self.units.for_tenant(tenant_id) as uow:
            return list(reversed(uow.audit_logs.get_by_org_id(tenant_id, limit=500)))


@pytest.fixture
def plane(container: Container) -> Plane:
    return Plane(container)


# -- Given: applications, users, policies, requests -----------------------------------------------
@given(parsers.parse('"{organization}" has the application "{name}"'))
@given(parsers.parse('"{organization}" registers the application "{name}"'))
@when(parsers.parse('"{organization}" registers the application "{name}"'))
def registers_application(world: World, plane: Plane, organization: str, name: str) -> None:
    application, key = plane.container.register_application()(
        NewApplication.parse(tenant_id=world.id_of(organization), name=name))
    plane.applications[(organization, name)] = application
    plane.keys.append(key)


@given(parsers.parse('"{organization}" has the user "{email}"'))
def has_user(world: World, plane: Plane, organization: str, email: str) -> None:
    plane.users[email] = plane.container.register_user()(NewUser.parse(
        tenant_id=world.id_of(organization), email=email, subject=f"cognito-{email}"))


def _target(plane: Plane, organization: str, text: str) -> dict[str, uuid.UUID]:
    """`the organization`, `application chat`, `user ann@acme.test`, `user ann@acme.test in chat`."""
    if text == "the organization":
        return {}
    kind, _, rest = text.partition(" ")
    if kind == "application":
        return {"application_id": plane.application(organization, rest).id}
    email, _, application = rest.partition(" in ")
    found = {"user_id": plane.users[email].id}
    if application:
        found["application_id"] = plane.application(organization, application).id
    return found


@given(parsers.parse('"{organization}" has these policies:'))
def has_policies(world: World, plane: Plane, organization: str, datatable: list[list[str]]) -> None:
    define = plane.container.define_policy()
    change = plane.container.change_policy()
    tenant = world.id_of(organization)
    for row in table_rows(datatable):
        policy = define(NewPolicy.parse(tenant_id=tenant, policy_type=row["type"], config=json.loads(row["config"]),
                                        priority=int(row["priority"]), **_target(plane, organization, row["for"])))
        if not yes_no(row.get("enabled", "yes")):
            policy = change(PolicyChange.parse(tenant_id=tenant, policy_id=policy.id, enabled=False))
        plane.policies[row["label"]] = policy


@given(parsers.parse('"{application}" of "{organization}" made these inference requests:'))
def made_requests(world: World, plane: Plane, application: str, organization: str,
                  datatable: list[list[str]]) -> None:
    record = plane.container.record_inference()
    for row in table_rows(datatable):
        record(InferenceRecord.parse(
            tenant_id=world.id_of(organization), application_id=plane.application(organization, application).id,
            provider="openai" if row["model"].startswith("gpt") else "anthropic", model=row["model"],
            status=row["status"], latency_ms=int(row["latency_ms"]), cost_cents=int(row["cost_cents"]),
            requested_at=moment(row["at"])))


@given("the audit log refuses every entry")
def audit_log_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    def refusing(*args: object, **kwargs: object) -> None:
        raise StorageError("the audit log is unavailable")

    monkeypatch.setattr(use_cases, "_audit", refusing)


# -- policy resolution ----------------------------------------------------------------------------
@when(parsers.parse('the policies binding a request of "{application}" by "{email}" are resolved'))
def resolve_for_user(world: World, plane: Plane, application: str, email: str) -> None:
    app = plane.application("Acme Corp", application)
    plane.resolved = plane.container.resolve_policies()(app.tenant_id, app.id, plane.users[email].id)


@when(parsers.parse('the policies binding a request of "{application}" with no user are resolved'))
def resolve_without_user(plane: Plane, application: str) -> None:
    app = plane.application("Acme Corp", application)
    plane.resolved = plane.container.resolve_policies()(app.tenant_id, app.id)


@then(parsers.parse("they are, in order: {labels}"))
def resolved_in_order(plane: Plane, labels: str) -> None:
    by_id = {policy.id: label for label, policy in plane.policies.items()}
    assert [by_id[policy.id] for policy in plane.resolved] == [label.strip() for label in labels.split(",")]


@then("none bind")
def none_bind(plane: Plane) -> None:
    assert plane.resolved == []


# -- API keys -------------------------------------------------------------------------------------
@then(parsers.parse('the key is shown once, starting with "{prefix}"'))
def key_shown(plane: Plane, prefix: str) -> None:
    key = plane.keys[-1]
    assert key.secret.startswith(prefix) and key.secret not in repr(key)


@then("the stored application holds the key's hash, not the key")
def only_hash_stored(plane: Plane) -> None:
    key = plane.keys[-1]
    [application] = plane.applications.values()
    with plane.units.for_tenant(application.tenant_id) as uow:
        stored = uow.applications.get_by_id_or_raise(application.id)
    assert stored.api_key_hash == key.hash and key.secret not in stored.model_dump_json()


@then(parsers.parse('the key authenticates the application "{name}"'))
@then(parsers.parse('the new key authenticates the application "{name}"'))
def key_authenticates(plane: Plane, name: str) -> None:
    assert plane.container.authenticate_api_key()(plane.keys[-1].secret).id == plane.only_application(name).id


@when("a request presents the key with its last character changed")
def present_altered_key(world: World, plane: Plane) -> None:
    secret = plane.keys[-1].secret
    altered = secret[:-1] + ("B" if secret.endswith("A") else "A")
    world.attempt(lambda: plane.container.authenticate_api_key()(altered))


@when(parsers.parse('a request presents the key "{secret}"'))
def present_key(world: World, plane: Plane, secret: str) -> None:
    world.attempt(lambda: plane.container.authenticate_api_key()(secret))


@when(parsers.parse('the key of "{name}" is rotated'))
def rotate(plane: Plane, name: str) -> None:
    application = plane.only_application(name)
    _, key = plane.container.rotate_api_key()(application.tenant_id, application.id)
    plane.keys.append(key)


@when(parsers.parse('the key of "{name}" is revoked'))
def revoke(plane: Plane, name: str) -> None:
    application = plane.only_application(name)
    plane.container.revoke_api_key()(application.tenant_id, application.id)


@then("the previous key is refused")
def previous_refused(world: World, plane: Plane) -> None:
    world.attempt(lambda: plane.container.authenticate_api_key()(plane.keys[-2].secret))
    assert type(world.error).__name__ == "ApiKeyRejected"


@then("the new key is refused")
def new_refused(world: World, plane: Plane) -> None:
    world.attempt(lambda: plane.container.authenticate_api_key()(plane.keys[-1].secret))
    assert type(world.error).__name__ == "ApiKeyRejected"


# -- the audit trail ------------------------------------------------------------------------------
@when(parsers.parse('"{email}" sets a rate limit of {limit:d} requests per minute on "{application}" in the '
                    'request "{request_id}"'))
@given(parsers.parse('"{email}" sets a rate limit of {limit:d} requests per minute on "{application}" in the '
                     'request "{request_id}"'))
def sets_rate_limit(world: World, plane: Plane, email: str, limit: int, application: str, request_id: str) -> None:
    user = plane.users[email]
    app = plane.application("Acme Corp", application)

    def define() -> Policy:
        return plane.container.define_policy()(NewPolicy.parse(
            tenant_id=user.tenant_id, policy_type="rate_limit", config={"requests_per_minute": limit},
            application_id=app.id, actor_user_id=user.id, request_id=request_id))

    plane.policy = world.attempt(define)


@when(parsers.parse('"{email}" changes that limit to {limit:d} requests per minute in the request "{request_id}"'))
def changes_limit(plane: Plane, email: str, limit: int, request_id: str) -> None:
    user, policy = plane.users[email], plane.policy
    assert policy is not None
    plane.policy = plane.container.change_policy()(PolicyChange.parse(
        tenant_id=user.tenant_id, policy_id=policy.id, config={"requests_per_minute": limit},
        actor_user_id=user.id, request_id=request_id))


@then(parsers.re(r'"(?P<organization>[^"]+)" has (?P<count>\d+) polic(y|ies)'))
def has_policy_count(world: World, plane: Plane, organization: str, count: str) -> None:
    with plane.units.for_tenant(world.id_of(organization)) as uow:
        assert uow.policies.count() == int(count)


def _actions(text: str) -> list[str]:
    return [action.strip() for action in text.split(",")]


@then(parsers.parse('the audit trail of "{organization}" reads: {actions}'))
def audit_trail_reads(world: World, plane: Plane, organization: str, actions: str) -> None:
    assert [entry.action for entry in plane.audit_trail(world.id_of(organization))] == _actions(actions)


@then(parsers.parse('the audit trail of "{organization}" ends with: {actions}'))
def audit_trail_ends_with(world: World, plane: Plane, organization: str, actions: str) -> None:
    wanted = _actions(actions)
    assert [entry.action for entry in plane.audit_trail(world.id_of(organization))][-len(wanted):] == wanted


@then(parsers.parse('the audit trail of "{organization}" has no policy entry'))
def audit_trail_without_policies(world: World, plane: Plane, organization: str) -> None:
    trail = plane.audit_trail(world.id_of(organization))
    assert [entry.action for entry in trail if entry.action.startswith("policy.")] == []


@then(parsers.parse('the last audit entry names the policy, "{email}" and the request "{request_id}"'))
def last_entry_names(world: World, plane: Plane, email: str, request_id: str) -> None:
    last = plane.audit_trail(plane.users[email].tenant_id)[-1]
    assert plane.policy is not None
    assert (last.resource_type, last.resource_id, last.user_id, last.request_id) == (
        "policy", plane.policy.id, plane.users[email].id, request_id)


@then(parsers.parse("the last audit entry shows the limit going from {before:d} to {after:d}"))
def last_entry_shows_change(plane: Plane, before: int, after: int) -> None:
    assert plane.policy is not None
    last = plane.audit_trail(plane.policy.tenant_id)[-1]
    assert last.details == {"before": {"config": {"requests_per_minute": before}},
                            "after": {"config": {"requests_per_minute": after}}}


# -- metrics --------------------------------------------------------------------------------------
@when(parsers.parse('the metrics of "{organization}" from "{start}" to "{end}" are asked for'))
def ask_metrics(world: World, plane: Plane, organization: str, start: str, end: str) -> None:
    plane.metrics = plane.container.inference_metrics()(world.id_of(organization), moment(start), moment(end))


def _metrics(plane: Plane) -> InferenceMetrics:
    assert plane.metrics is not None, "no metrics were asked for"
    return plane.metrics


@then(parsers.parse("they show {count:d} requests costing {cents:d} cents"))
def metrics_count(plane: Plane, count: int, cents: int) -> None:
    assert (_metrics(plane).total_requests, _metrics(plane).total_cost_cents) == (count, cents)


@then(parsers.parse("an average latency of {average:f} ms and a 95th percentile of {p95:f} ms"))
def metrics_latency(plane: Plane, average: float, p95: float) -> None:
    assert (_metrics(plane).avg_latency_ms, _metrics(plane).p95_latency_ms) == (average, p95)


@then(parsers.parse("an error rate of {rate:f}"))
def metrics_error_rate(plane: Plane, rate: float) -> None:
    assert _metrics(plane).error_rate == rate
