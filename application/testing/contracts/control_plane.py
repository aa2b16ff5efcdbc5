"""The control-plane ports' contract: what every adapter of the five control-plane repositories, the
transaction manager and the asynchronous audit writer does.

Bind with `tenancy_uow`, `control_plane_uow`, `transaction_manager` and `audit_writer_of` (a
function building a `BatchingAuditWriter` on `control_plane_uow`) fixtures on one empty database.
Covered: every port method, the references (a missing or another tenant's row is `NotFound`, and
nothing is written) and their cascading deletes, the order of applicable policies, tenant isolation,
append-only records, the metrics, and rollback across contexts.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.testing.racing import race
from domain.control_plane.api_keys import hash_key
from domain.control_plane.application import Application
from domain.control_plane.audit import AuditLog
from domain.control_plane.filters import AuditLogFilter, PolicyFilter
from domain.control_plane.inference import InferenceRequest, InferenceStatus
from domain.control_plane.policy import Policy, PolicyScope, PolicyType
from domain.control_plane.user import User
from domain.shared.errors import (
    Conflict,
    NotFound,
    TenantScopeRequired,
    UnitOfWorkInactive,
    Unsupported,
    ValidationError,
)
from domain.shared.scope import TenantScope
from domain.tenancy.tenant import Tenant
from ports.control_plane import AuditWriter, ControlPlaneUnitOfWork, ControlPlaneUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWorkFactory
from ports.transactions import Transaction, TransactionManager
from ports.unit_of_work import UnitOfWorkFactory

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
Units = ControlPlaneUnitOfWorkFactory
WriterOf = Callable[..., AuditWriter]
"""`audit_writer_of()` builds a writer on `control_plane_uow`; `audit_writer_of(units)` on `units`."""


class GatedUnits(UnitOfWorkFactory[ControlPlaneUnitOfWork]):
    """Units of work that open only once `gate` is set: a storage that does not answer yet."""

    def __init__(self, inner: Units, gate: threading.Event) -> None:
        self._inner = inner
        self._gate = gate

    def __call__(self, scope: TenantScope) -> ControlPlaneUnitOfWork:
        self._gate.wait(60)
        return self._inner(scope)


def at(minutes: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes)


class InjectedFailure(Exception):  # noqa: N818 - not an error of ours
    """A failure inside a transaction."""


def new_application(tenant_id: uuid.UUID, name: str = "Chat", minutes: float = 0) -> Application:
    application, _ = Application.register(tenant_id=tenant_id, name=name, at=at(minutes))
    return application


def new_user(tenant_id: uuid.UUID, email: str, subject: str | None = None, minutes: float = 0) -> User:
    return User.register(tenant_id=tenant_id, email=email, subject=subject or f"sub-{uuid.uuid4()}", at=at(minutes))


def new_policy(tenant_id: uuid.UUID, *, priority: int = 0, application_id: uuid.UUID | None = None,
               user_id: uuid.UUID | None = None, minutes: float = 0, enabled: bool = True,
               policy_type: PolicyType = PolicyType.RATE_LIMIT) -> Policy:
    configs: dict[PolicyType, dict[str, Any]] = {
        PolicyType.RATE_LIMIT: {"requests_per_minute": 60 + priority},
        PolicyType.COST_LIMIT: {"limit_cents": 10_000, "period": "day"},
        PolicyType.MODEL_ALLOWLIST: {"models": ["gpt-4o", "claude-sonnet"]},
    }
    config = configs[policy_type]
    return Policy.define(tenant_id=tenant_id, policy_type=policy_type, config=config, priority=priority,
                         application_id=application_id, user_id=user_id, at=at(minutes), enabled=enabled)


def new_entry(tenant_id: uuid.UUID, action: str = "policy.created", minutes: float = 0, **extra: Any) -> AuditLog:
    extra.setdefault("resource_type", "policy")
    return AuditLog.record(tenant_id=tenant_id, action=action, at=at(minutes), **extra)


def new_request(tenant_id: uuid.UUID, application_id: uuid.UUID, *, latency_ms: int = 100, cost_cents: int = 3,
                status: InferenceStatus = InferenceStatus.COMPLETED, minutes: float = 0,
                user_id: uuid.UUID | None = None) -> InferenceRequest:
    return InferenceRequest.record(tenant_id=tenant_id, application_id=application_id, provider="openai",
                                   model="gpt-4o", status=status, at=at(minutes), latency_ms=latency_ms,
                                   cost_cents=cost_cents, tokens_in=10, tokens_out=20, user_id=user_id,
                                   error="upstream 502" if status is InferenceStatus.FAILED else None)


@dataclass(frozen=True, slots=True)
class World:
    acme: uuid.UUID
    globex: uuid.UUID
    chat: Application
    """Acme's."""
    search: Application
    """Acme's."""
    ann: User
    """Acme's."""
    bob: User
    """Acme's."""
    globex_app: Application
    globex_user: User


def seed_world(control_plane_uow: Units, tenancy_uow: TenancyUnitOfWorkFactory) -> World:
    acme = Tenant.register(name="Acme", slug="acme", at=T0)
    globex = Tenant.register(name="Globex", slug="globex", at=T0)
    with tenancy_uow.system() as uow:
        uow.tenants.bulk_create([acme, globex])
    chat, search = new_application(acme.id, "Chat"), new_application(acme.id, "Search", 1)
    ann, bob = new_user(acme.id, "ann@acme.test", "sub-ann"), new_user(acme.id, "bob@acme.test", "sub-bob", 1)
    globex_app, globex_user = new_application(globex.id, "Chat"), new_user(globex.id, "ann@globex.test", "sub-g")
    with control_plane_uow.for_tenant(acme.id) as uow:
        uow.applications.bulk_create([chat, search])
        uow.users.bulk_create([ann, bob])
    with control_plane_uow.for_tenant(globex.id) as uow:
        uow.applications.create(globex_app)
        uow.users.create(globex_user)
    return World(acme.id, globex.id, chat, search, ann, bob, globex_app, globex_user)


def counts(control_plane_uow: Units, tenant_id: uuid.UUID) -> dict[str, int]:
    """How many rows of each control-plane table the tenant holds."""
    with control_plane_uow.for_tenant(tenant_id) as uow:
        return {name: getattr(uow, name).count() for name in
                ("applications", "users", "policies", "audit_logs", "inference_requests")}


class AnalyticsContract:
    """The audit log, inference requests and the asynchronous writer: what every backend of the two
    append-only tables does, BigQuery included (`control_plane_units(..., analytics=...)`)."""

    @pytest.fixture
    def world(self, control_plane_uow: Units, tenancy_uow: TenancyUnitOfWorkFactory) -> World:
        return seed_world(control_plane_uow, tenancy_uow)

    # -- audit logs ---------------------------------------------------------------------------
    def test_audit_queries_newest_first_with_pagination(self, control_plane_uow: Units, world: World) -> None:
        a = world.acme
        entries = [
            new_entry(a, "policy.created", 0, application_id=world.chat.id, user_id=world.ann.id, request_id="r1"),
            new_entry(a, "policy.updated", 1, application_id=world.chat.id, user_id=world.bob.id),
            new_entry(a, "policy.created", 2, application_id=world.search.id, user_id=world.ann.id),
            new_entry(a, "api_key.revoked", 3, resource_type="application", resource_id=world.chat.id),
        ]
        with control_plane_uow.for_tenant(a) as uow:
            uow.audit_logs.insert(entries[0])
            assert uow.audit_logs.insert_many(entries[1:]) == entries[1:]
        with control_plane_uow.for_tenant(world.globex) as uow:
            uow.audit_logs.insert(new_entry(world.globex, "policy.created", 1))

        def ids(found: list[AuditLog]) -> list[uuid.UUID]:
            return [entry.id for entry in found]

        e = entries
        with control_plane_uow.for_tenant(a) as uow:
            logs = uow.audit_logs
            assert ids(logs.get_by_org_id(a)) == [e[3].id, e[2].id, e[1].id, e[0].id]
            assert ids(logs.get_by_org_id(a, limit=2, offset=1)) == [e[2].id, e[1].id]
            assert ids(logs.get_by_app_id(world.chat.id)) == [e[1].id, e[0].id]
            assert ids(logs.get_by_user_id(world.ann.id)) == [e[2].id, e[0].id]
            assert ids(logs.get_by_action("policy.created")) == [e[2].id, e[0].id]
            assert ids(logs.get_by_action("policy.created", limit=1, offset=1)) == [e[0].id]
            assert ids(logs.get_by_date_range(at(1), at(3))) == [e[2].id, e[1].id]  # end excluded
            assert ids(logs.get_by_date_range(at(0), at(0))) == []
            assert logs.list_and_count(AuditLogFilter(request_id="r1")).items == [e[0]]
            with pytest.raises(ValidationError, match="end"):
                logs.get_by_date_range(at(3), at(1))
            with pytest.raises(ValidationError, match="start"):
                logs.get_by_date_range(datetime(2026, 3, 1), at(1))

    def test_audit_entries_are_append_only(self, control_plane_uow: Units, world: World) -> None:
        entry = new_entry(world.acme)
        with control_plane_uow.for_tenant(world.acme) as uow:
            uow.audit_logs.insert(entry)
            with pytest.raises(Unsupported):
                uow.audit_logs.update(entry.evolve(action="policy.deleted"))
            with pytest.raises(Unsupported):
                uow.audit_logs.delete(entry.id)
        with control_plane_uow.for_tenant(world.acme) as uow:
            assert uow.audit_logs.get_by_id(entry.id) == entry

    def test_a_batch_of_audit_entries_is_all_or_nothing(self, control_plane_uow: Units, world: World) -> None:
        first = new_entry(world.acme)
        with control_plane_uow.for_tenant(world.acme) as uow:
            uow.audit_logs.insert(first)
        with pytest.raises(Conflict), control_plane_uow.for_tenant(world.acme) as uow:
            uow.audit_logs.insert_many([new_entry(world.acme), first])
        assert counts(control_plane_uow, world.acme)["audit_logs"] == 1

    # -- inference requests -------------------------------------------------------------------
    def test_inference_requests_by_status_application_and_organization(self, control_plane_uow: Units,
                                                                       world: World) -> None:
        a = world.acme
        done = new_request(a, world.chat.id, minutes=0, user_id=world.ann.id)
        failed = new_request(a, world.chat.id, status=InferenceStatus.FAILED, minutes=1)
        other = new_request(a, world.search.id, minutes=2)
        with control_plane_uow.for_tenant(a) as uow:
            uow.inference_requests.bulk_create([done, failed, other])
            requests = uow.inference_requests
            assert requests.get_by_status(InferenceStatus.COMPLETED) == [other, done]
            assert requests.get_by_status(InferenceStatus.FAILED) == [failed]
            assert requests.get_by_status(InferenceStatus.REJECTED) == []
            assert requests.get_by_app_id(world.chat.id) == [failed, done]
            assert requests.get_by_org_id(a, limit=1) == [other]
            assert requests.get_by_id(done.id) == done
            with pytest.raises(ValidationError, match="status"):
                requests.get_by_status("lost")  # type: ignore[arg-type]
            with pytest.raises(Unsupported):
                requests.update(done)
            with pytest.raises(NotFound):
                requests.create(new_request(a, world.globex_app.id))

    def test_metrics_over_a_date_range(self, control_plane_uow: Units, world: World) -> None:
        a = world.acme
        latencies = [120, 80, 300, 95, 2000, 150, 60, 75, 110, 400, 90, 130, 85, 70, 105, 115, 140, 160, 180, 999, 50]
        requests = [new_request(a, world.chat.id if i % 2 else world.search.id, latency_ms=latency,
                                cost_cents=i + 1, minutes=i,
                                status=InferenceStatus.FAILED if i % 5 == 0 else InferenceStatus.COMPLETED)
                    for i, latency in enumerate(latencies)]
        outside = [new_request(a, world.chat.id, latency_ms=5000, minutes=-1),
                   new_request(a, world.chat.id, latency_ms=5000, minutes=len(latencies))]
        with control_plane_uow.for_tenant(a) as uow:
            uow.inference_requests.bulk_create([*requests, *outside])
        with control_plane_uow.for_tenant(world.globex) as uow:
            uow.inference_requests.create(new_request(world.globex, world.globex_app.id, latency_ms=9999))
        with control_plane_uow.for_tenant(a) as uow:
            metrics = uow.inference_requests.get_metrics(a, at(0), at(len(latencies)))
            empty = uow.inference_requests.get_metrics(a, at(1000), at(2000))
            with pytest.raises(TenantScopeRequired):
                uow.inference_requests.get_metrics(world.globex, at(0), at(1))
            with pytest.raises(ValidationError, match="end"):
                uow.inference_requests.get_metrics(a, at(1), at(0))
        # 21 requests: the nearest rank of the 95th percentile is ceil(19.95) = 20, the second largest.
        assert metrics.total_requests == 21
        assert metrics.total_cost_cents == sum(range(1, 22))
        assert metrics.avg_latency_ms == pytest.approx(sum(latencies) / 21, rel=1e-12)
        assert metrics.p95_latency_ms == 999.0
        assert metrics.error_rate == pytest.approx(5 / 21, rel=1e-12)  # i = 0, 5, 10, 15, 20
        assert (empty.total_requests, empty.total_cost_cents, empty.avg_latency_ms, empty.p95_latency_ms,
                empty.error_rate) == (0, 0, 0.0, 0.0, 0.0)

    def test_metrics_of_one_request(self, control_plane_uow: Units, world: World) -> None:
        with control_plane_uow.for_tenant(world.acme) as uow:
            uow.inference_requests.create(new_request(world.acme, world.chat.id, latency_ms=42, cost_cents=7))
            metrics = uow.inference_requests.get_metrics(world.acme, at(0), at(1))
        assert (metrics.total_requests, metrics.total_cost_cents, metrics.avg_latency_ms, metrics.p95_latency_ms,
                metrics.error_rate) == (1, 7, 42.0, 42.0, 0.0)

    # -- the asynchronous audit writer --------------------------------------------------------
    def test_the_writer_stores_every_accepted_entry_by_close(self, control_plane_uow: Units, audit_writer_of: WriterOf,
                                                             world: World) -> None:
        writer = audit_writer_of()
        entries = [new_entry(world.acme if i % 3 else world.globex, minutes=i / 100) for i in range(450)]
        errors = race(lambda chunk: [writer.submit(entry) for entry in chunk],
                      [entries[i::3] for i in range(3)])
        assert errors == []
        writer.close()
        writer.close()  # idempotent
        assert writer.failures == []
        assert counts(control_plane_uow, world.acme)["audit_logs"] == 300
        assert counts(control_plane_uow, world.globex)["audit_logs"] == 150
        with pytest.raises(UnitOfWorkInactive):
            writer.submit(new_entry(world.acme))

    def test_flush_waits_for_the_entries_accepted_before_it(self, control_plane_uow: Units,
                                                            audit_writer_of: WriterOf, world: World) -> None:
        writer = audit_writer_of()
        try:
            for i in range(20):
                writer.submit(new_entry(world.acme, minutes=i))
            writer.flush()
            assert counts(control_plane_uow, world.acme)["audit_logs"] == 20
        finally:
            writer.close()

    def test_an_entry_that_cannot_be_stored_costs_only_itself(self, control_plane_uow: Units,
                                                              audit_writer_of: WriterOf, world: World) -> None:
        writer = audit_writer_of()
        ghost = uuid.uuid4()
        good = [new_entry(world.acme, minutes=i) for i in range(5)]
        for entry in (*good[:2], new_entry(ghost), *good[2:]):
            writer.submit(entry)
        writer.close()
        assert [type(error) for error in writer.failures] == [NotFound]
        with control_plane_uow.for_tenant(world.acme) as uow:
            assert sorted(e.id for e in uow.audit_logs.get_by_org_id(world.acme)) == sorted(e.id for e in good)
        with pytest.raises(ValidationError, match="entry"):
            writer.submit("not an entry")  # type: ignore[arg-type]

    def test_a_full_queue_makes_submit_wait_instead_of_growing(self, control_plane_uow: Units,
                                                               audit_writer_of: WriterOf, world: World) -> None:
        """The fixture's writers hold 64 entries and take 50 per batch: with the storage stalled, a
        caller submitting 300 waits, and goes on once the storage answers."""
        gate = threading.Event()
        writer = audit_writer_of(GatedUnits(control_plane_uow, gate))
        done = threading.Event()

        def submit_many() -> None:
            for i in range(300):
                writer.submit(new_entry(world.acme, minutes=i / 10))
            done.set()

        thread = threading.Thread(target=submit_many)
        thread.start()
        thread.join(1.0)
        assert not done.is_set()  # waiting for room, not queueing without bound
        gate.set()
        thread.join(60)
        assert done.is_set()
        writer.close()
        assert counts(control_plane_uow, world.acme)["audit_logs"] == 300


class ControlPlaneContract(AnalyticsContract):
    """Everything: the analytics part, applications, users, policies, references and cascades,
    tenant isolation, transactions."""

    # -- applications -------------------------------------------------------------------------
    def test_applications_of_an_organization_in_pages(self, control_plane_uow: Units, world: World) -> None:
        with control_plane_uow.for_tenant(world.acme) as uow:
            assert uow.applications.get_by_id(world.chat.id) == world.chat
            assert [a.name for a in uow.applications.get_by_org_id(world.acme)] == ["Chat", "Search"]
            assert [a.name for a in uow.applications.get_by_org_id(world.acme, limit=1, offset=1)] == ["Search"]
            with pytest.raises(TenantScopeRequired):
                uow.applications.get_by_org_id(world.globex)
            with pytest.raises(ValidationError, match="limit"):
                uow.applications.get_by_org_id(world.acme, limit=0)

    def test_an_application_is_found_by_its_key_hash_from_system_scope_only_across_tenants(
        self, control_plane_uow: Units, world: World
    ) -> None:
        with control_plane_uow.system() as uow:
            assert uow.applications.get_by_api_key_hash(world.globex_app.api_key_hash) == world.globex_app
            assert uow.applications.get_by_api_key_hash("0" * 64) is None
            with pytest.raises(ValidationError, match="api_key_hash"):
                uow.applications.get_by_api_key_hash("short")
        with control_plane_uow.for_tenant(world.acme) as uow:
            assert uow.applications.get_by_api_key_hash(world.chat.api_key_hash) == world.chat
            assert uow.applications.get_by_api_key_hash(world.globex_app.api_key_hash) is None

    def test_a_rotated_key_is_found_under_its_new_hash_only(self, control_plane_uow: Units, world: World) -> None:
        rotated, key = world.chat.rotate_key(at(5))
        with control_plane_uow.for_tenant(world.acme) as uow:
            stored = uow.applications.update(rotated)
        with control_plane_uow.system() as uow:
            assert uow.applications.get_by_api_key_hash(hash_key(key.secret)) == stored
            assert uow.applications.get_by_api_key_hash(world.chat.api_key_hash) is None
        assert stored.accepts(key.secret) and stored.version == 2
        revoked = stored.revoke_key(at(6))
        assert not revoked.accepts(key.secret)

    def test_application_names_are_unique_per_organization(self, control_plane_uow: Units, world: World) -> None:
        with pytest.raises(Conflict, match="name"), control_plane_uow.for_tenant(world.acme) as uow:
            uow.applications.create(new_application(world.acme, "Chat"))
        with control_plane_uow.for_tenant(world.acme) as uow:
            assert uow.applications.count() == 2
        with control_plane_uow.for_tenant(world.globex) as uow:
            uow.applications.create(new_application(world.globex, "Search"))  # Acme's name, another org

    def test_an_unknown_organization_is_not_found_and_nothing_is_written(self, control_plane_uow: Units,
                                                                         world: World) -> None:
        ghost = uuid.uuid4()
        writes: list[Callable[[ControlPlaneUnitOfWork], object]] = [
            lambda uow: uow.applications.create(new_application(ghost)),
            lambda uow: uow.users.create(new_user(ghost, "x@ghost.test")),
            lambda uow: uow.policies.create(new_policy(ghost)),
            lambda uow: uow.audit_logs.insert(new_entry(ghost)),
            lambda uow: uow.audit_logs.insert_many([new_entry(ghost), new_entry(ghost)]),
        ]
        for build in writes:
            with pytest.raises(NotFound) as raised, control_plane_uow.for_tenant(ghost) as uow:
                build(uow)
            assert raised.value.entity == "Tenant" and raised.value.key == ghost
        assert counts(control_plane_uow, ghost) == dict.fromkeys(counts(control_plane_uow, ghost), 0)

    def test_a_refused_reference_leaves_the_unit_of_work_usable(self, control_plane_uow: Units, world: World) -> None:
        with control_plane_uow.for_tenant(world.acme) as uow:
            with pytest.raises(NotFound):
                uow.policies.create(new_policy(world.acme, application_id=uuid.uuid4()))
            uow.policies.create(new_policy(world.acme))
        assert counts(control_plane_uow, world.acme)["policies"] == 1

    # -- users --------------------------------------------------------------------------------
    def test_users_by_email_and_subject(self, control_plane_uow: Units, world: World) -> None:
        with control_plane_uow.for_tenant(world.acme) as uow:
            assert uow.users.get_by_email("ANN@acme.test ") == world.ann
            assert uow.users.get_by_email("ann@globex.test") is None
            assert uow.users.get_by_subject("sub-bob") == world.bob
            assert uow.users.get_by_subject("sub-g") is None
            assert [u.email for u in uow.users.get_by_org_id(world.acme)] == ["ann@acme.test", "bob@acme.test"]
        with control_plane_uow.system() as uow:
            assert uow.users.get_by_subject("sub-g") == world.globex_user

    def test_emails_are_unique_per_organization_and_subjects_everywhere(self, control_plane_uow: Units,
                                                                        world: World) -> None:
        with pytest.raises(Conflict, match="email"), control_plane_uow.for_tenant(world.acme) as uow:
            uow.users.create(new_user(world.acme, "Ann@Acme.test"))
        with pytest.raises(Conflict, match="subject"), control_plane_uow.for_tenant(world.globex) as uow:
            uow.users.create(new_user(world.globex, "new@globex.test", "sub-ann"))
        with control_plane_uow.for_tenant(world.globex) as uow:
            uow.users.create(new_user(world.globex, "ann@acme.test"))  # Acme's address, another org
        assert counts(control_plane_uow, world.acme)["users"] == 2

    # -- policies -----------------------------------------------------------------------------
    def test_policy_crud_and_queries(self, control_plane_uow: Units, world: World) -> None:
        org = new_policy(world.acme)
        app = new_policy(world.acme, application_id=world.chat.id, minutes=1)
        user = new_policy(world.acme, user_id=world.ann.id, minutes=2, policy_type=PolicyType.COST_LIMIT)
        with control_plane_uow.for_tenant(world.acme) as uow:
            uow.policies.bulk_create([org, app, user])
            assert [p.id for p in uow.policies.get_by_org_id(world.acme)] == [org.id, app.id, user.id]
            assert uow.policies.get_by_app_id(world.chat.id) == [app]
            assert uow.policies.get_by_app_id(world.search.id) == []
            assert uow.policies.get_by_user_id(world.ann.id) == [user]
            assert (org.scope, app.scope, user.scope) == (PolicyScope.ORGANIZATION, PolicyScope.APPLICATION,
                                                          PolicyScope.USER)
            changed = uow.policies.update(app.reprioritise(9, at(3)).disable(at(3)))
            assert uow.policies.list_and_count(PolicyFilter(enabled=False)).items == [changed]
            uow.policies.delete(org.id, expected_version=1)
            assert uow.policies.get_by_id(org.id) is None

    def test_applicable_policies_go_user_then_application_then_organization_then_priority(
        self, control_plane_uow: Units, world: World
    ) -> None:
        a = world.acme
        org_low, org_high = new_policy(a, priority=1), new_policy(a, priority=5, minutes=1)
        app_low = new_policy(a, application_id=world.chat.id, priority=0, minutes=2)
        app_high = new_policy(a, application_id=world.chat.id, priority=7, minutes=3)
        user_any_app = new_policy(a, user_id=world.ann.id, priority=2, minutes=4)
        user_this_app = new_policy(a, user_id=world.ann.id, application_id=world.chat.id, priority=3, minutes=5)
        ignored = [
            new_policy(a, application_id=world.search.id, priority=99),  # another application's
            new_policy(a, user_id=world.bob.id, priority=99),  # another user's
            new_policy(a, user_id=world.ann.id, application_id=world.search.id, priority=99),  # Ann elsewhere
            new_policy(a, priority=99, enabled=False),  # disabled
        ]
        with control_plane_uow.for_tenant(a) as uow:
            uow.policies.bulk_create([*ignored, org_low, app_low, user_any_app, org_high, user_this_app, app_high])
            found = uow.policies.get_applicable_policies(a, world.chat.id, world.ann.id)
            without_user = uow.policies.get_applicable_policies(a, world.chat.id)
            with pytest.raises(TenantScopeRequired):
                uow.policies.get_applicable_policies(world.globex, world.chat.id)
        assert [p.id for p in found] == [user_this_app.id, user_any_app.id, app_high.id, app_low.id, org_high.id,
                                         org_low.id]
        assert [p.id for p in without_user] == [app_high.id, app_low.id, org_high.id, org_low.id]

    def test_a_policy_naming_another_tenants_application_or_user_is_not_found(
        self, control_plane_uow: Units, world: World
    ) -> None:
        for policy in (new_policy(world.acme, application_id=world.globex_app.id),
                       new_policy(world.acme, user_id=world.globex_user.id),
                       new_policy(world.acme, application_id=uuid.uuid4())):
            with pytest.raises(NotFound), control_plane_uow.for_tenant(world.acme) as uow:
                uow.policies.create(policy)
        with control_plane_uow.for_tenant(world.acme) as uow:
            stored = uow.policies.create(new_policy(world.acme, application_id=world.chat.id))
            with pytest.raises(NotFound):
                uow.policies.update(stored.evolve(application_id=world.globex_app.id))
        assert counts(control_plane_uow, world.acme)["policies"] == 1

    # -- cascades -----------------------------------------------------------------------------
    def _populate(self, control_plane_uow: Units, world: World) -> None:
        a = world.acme
        with control_plane_uow.for_tenant(a) as uow:
            uow.policies.bulk_create([
                new_policy(a), new_policy(a, application_id=world.chat.id), new_policy(a, user_id=world.ann.id),
                new_policy(a, application_id=world.search.id)])
            uow.audit_logs.insert_many([new_entry(a), new_entry(a, application_id=world.chat.id)])
            uow.inference_requests.bulk_create([new_request(a, world.chat.id), new_request(a, world.search.id),
                                                new_request(a, world.search.id, user_id=world.ann.id)])

    def test_deleting_an_organization_deletes_everything_it_owns(
        self, control_plane_uow: Units, tenancy_uow: TenancyUnitOfWorkFactory, world: World
    ) -> None:
        self._populate(control_plane_uow, world)
        globex_before = counts(control_plane_uow, world.globex)
        with tenancy_uow.system() as uow:
            uow.tenants.delete(world.acme)
        assert counts(control_plane_uow, world.acme) == dict.fromkeys(globex_before, 0)
        assert counts(control_plane_uow, world.globex) == globex_before
        with control_plane_uow.system() as uow:
            assert uow.applications.get_by_id(world.chat.id) is None
            assert uow.users.get_by_subject("sub-ann") is None

    def test_a_cascade_is_undone_with_its_transaction(
        self, control_plane_uow: Units, tenancy_uow: TenancyUnitOfWorkFactory, world: World
    ) -> None:
        self._populate(control_plane_uow, world)
        before = counts(control_plane_uow, world.acme)
        with pytest.raises(InjectedFailure), tenancy_uow.system() as uow:
            uow.tenants.delete(world.acme)
            raise InjectedFailure
        assert counts(control_plane_uow, world.acme) == before

    def test_deleting_an_application_or_a_user_deletes_what_names_it_and_keeps_the_audit_trail(
        self, control_plane_uow: Units, world: World
    ) -> None:
        self._populate(control_plane_uow, world)
        with control_plane_uow.for_tenant(world.acme) as uow:
            uow.applications.delete(world.chat.id)
            assert uow.policies.get_by_app_id(world.chat.id) == []
            assert uow.inference_requests.get_by_app_id(world.chat.id) == []
            uow.users.delete(world.ann.id)
            assert uow.policies.get_by_user_id(world.ann.id) == []
        assert counts(control_plane_uow, world.acme) == {
            "applications": 1, "users": 1, "policies": 2, "audit_logs": 2, "inference_requests": 1}

    def test_a_row_inserted_while_its_organization_is_deleted_leaves_no_orphan(
        self, control_plane_uow: Units, tenancy_uow: TenancyUnitOfWorkFactory, world: World
    ) -> None:
        """The insert commits first and the cascade then takes its row (PostgreSQL, SQLite: the delete
        waits for it), or the insert's commit is refused (memory): either way nothing is left
        pointing at the deleted organization."""
        deleted: list[BaseException] = []

        def delete_organization() -> None:
            try:
                with tenancy_uow.system() as uow:
                    uow.tenants.delete(world.acme)
            except BaseException as error:  # handed to the test thread
                deleted.append(error)

        deleting = threading.Thread(target=delete_organization)
        try:
            with control_plane_uow.for_tenant(world.acme) as plane:
                plane.applications.create(new_application(world.acme, "Late"))
                deleting.start()
                deleting.join(0.3)  # the delete runs (or waits for this transaction) meanwhile
        except Conflict:
            pass  # refused at commit: its organization went first
        deleting.join(60)
        assert deleted == []
        assert counts(control_plane_uow, world.acme)["applications"] == 0
        with tenancy_uow.system() as tenancy:
            assert tenancy.tenants.get_by_id(world.acme) is None

    # -- tenant isolation ---------------------------------------------------------------------
    def test_another_organizations_records_behave_as_missing(self, control_plane_uow: Units, world: World) -> None:
        with control_plane_uow.for_tenant(world.globex) as uow:
            assert uow.applications.get_by_id(world.chat.id) is None
            assert uow.users.get_by_id(world.ann.id) is None
            assert uow.users.get_by_email("ann@acme.test") is None
            with pytest.raises(NotFound):
                uow.applications.delete(world.chat.id)
            with pytest.raises(TenantScopeRequired):
                uow.applications.create(new_application(world.acme, "Sneaky"))
            with pytest.raises(TenantScopeRequired):
                uow.audit_logs.insert(new_entry(world.acme))
        with control_plane_uow.system() as uow, pytest.raises(TenantScopeRequired):
            uow.policies.count()

    # -- transactions -------------------------------------------------------------------------
    def test_a_policy_and_its_audit_entry_persist_together_or_not_at_all(
        self, control_plane_uow: Units, transaction_manager: TransactionManager, world: World
    ) -> None:
        policy = new_policy(world.acme)

        def write(transaction: Transaction, fail: bool) -> Policy:
            uow = transaction.join(control_plane_uow)
            stored = uow.policies.create(policy)
            uow.audit_logs.insert(new_entry(world.acme, resource_id=stored.id))
            if fail:
                raise InjectedFailure
            return stored

        with pytest.raises(InjectedFailure):
            transaction_manager.in_transaction(lambda tx: write(tx, True), world.acme)
        assert counts(control_plane_uow, world.acme)["policies"] == 0
        assert counts(control_plane_uow, world.acme)["audit_logs"] == 0
        assert transaction_manager.in_transaction(lambda tx: write(tx, False), world.acme) == policy
        with control_plane_uow.for_tenant(world.acme) as uow:
            assert uow.policies.get_by_id(policy.id) == policy
            assert [e.resource_id for e in uow.audit_logs.get_by_org_id(world.acme)] == [policy.id]

    def test_units_of_work_opened_inside_join_and_a_nested_failure_rolls_back_to_its_savepoint(
        self, control_plane_uow: Units, tenancy_uow: TenancyUnitOfWorkFactory,
        transaction_manager: TransactionManager, world: World
    ) -> None:
        kept, dropped = new_policy(world.acme), new_policy(world.acme, minutes=1)

        def inner(transaction: Transaction) -> None:
            transaction.join(control_plane_uow).policies.create(dropped)
            raise InjectedFailure

        def outer(transaction: Transaction) -> None:
            with control_plane_uow.for_tenant(world.acme) as uow:  # opened inside: joins
                uow.policies.create(kept)
            with tenancy_uow.for_tenant(world.acme) as tenancy:
                tenancy.tenants.update(tenancy.tenants.get_by_id_or_raise(world.acme).rename("Acme Ltd", at(1)))
            with pytest.raises(InjectedFailure):
                transaction_manager.in_transaction(inner, world.acme)  # nested: a savepoint
            assert transaction.join(control_plane_uow).policies.get_by_id(dropped.id) is None

        transaction_manager.in_transaction(outer, world.acme)
        with control_plane_uow.for_tenant(world.acme) as uow:
            assert [p.id for p in uow.policies.get_by_org_id(world.acme)] == [kept.id]
        with tenancy_uow.for_tenant(world.acme) as tenancy:
            assert tenancy.tenants.get_by_id_or_raise(world.acme).name == "Acme Ltd"

    def test_a_failure_rolls_back_every_context_written_in_the_transaction(
        self, control_plane_uow: Units, tenancy_uow: TenancyUnitOfWorkFactory,
        transaction_manager: TransactionManager, world: World
    ) -> None:
        def work(transaction: Transaction) -> None:
            tenancy = transaction.join(tenancy_uow)
            tenancy.tenants.update(tenancy.tenants.get_by_id_or_raise(world.acme).rename("Renamed", at(1)))
            transaction.join(control_plane_uow).applications.create(new_application(world.acme, "Billing"))
            raise InjectedFailure

        with pytest.raises(InjectedFailure):
            transaction_manager.in_transaction(work, world.acme)
        with tenancy_uow.for_tenant(world.acme) as tenancy:
            assert tenancy.tenants.get_by_id_or_raise(world.acme).name == "Acme"
        assert counts(control_plane_uow, world.acme)["applications"] == 2

    def test_a_transaction_handle_is_dead_after_its_function(
        self, control_plane_uow: Units, transaction_manager: TransactionManager, world: World
    ) -> None:
        kept: list[Transaction] = []
        transaction_manager.in_transaction(kept.append, world.acme)
        with pytest.raises(UnitOfWorkInactive):
            kept[0].join(control_plane_uow)

    def test_units_of_work_are_unusable_outside_their_block(self, control_plane_uow: Units, world: World) -> None:
        with control_plane_uow.for_tenant(world.acme) as uow:
            kept: ControlPlaneUnitOfWork = uow
            policies = uow.policies
        with pytest.raises(UnitOfWorkInactive):
            policies.count()
        with pytest.raises(UnitOfWorkInactive):
            kept.audit_logs.count()
