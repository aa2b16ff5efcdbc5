"""The control plane's domain rules: API keys, policy configurations and scopes, the metrics formula."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.control_plane.api_keys import hash_key, issue_key, key_matches
from domain.control_plane.application import Application
from domain.control_plane.inference import metrics_of, p95_rank
from domain.control_plane.policy import Policy, PolicyScope, applicable_order
from domain.control_plane.user import User
from domain.shared.errors import ValidationError

T0 = datetime(2026, 3, 1, tzinfo=UTC)
ORG = uuid.uuid4()


def test_keys_are_random_prefixed_and_stored_as_their_sha256() -> None:
    first, second = issue_key(), issue_key()
    assert first.secret != second.secret and first.secret.startswith("psk_") and len(first.secret) >= 40
    assert first.hash == hashlib.sha256(first.secret.encode()).hexdigest() == hash_key(first.secret)
    assert first.secret not in repr(first) and first.prefix == first.secret[:10]


def test_keys_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    key = issue_key()
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    assert key_matches(key.secret, key.hash)
    assert not key_matches(key.secret + "x", key.hash)
    assert len(compared) == 2
    assert not key_matches("psk_" + "x" * 500, key.hash)  # refused before hashing: not a plausible key
    assert not key_matches("sk-live-123", key.hash)


def test_an_application_keeps_only_the_hash_and_rotation_retires_the_old_key() -> None:
    application, key = Application.register(tenant_id=ORG, name="Chat", at=T0)
    assert key.secret not in application.model_dump_json() and application.accepts(key.secret)
    rotated, new = application.rotate_key(T0)
    assert not rotated.accepts(key.secret) and rotated.accepts(new.secret)
    revoked = rotated.revoke_key(T0)
    assert not revoked.accepts(new.secret) and revoked.api_key_hash == rotated.api_key_hash
    assert not rotated.deactivate(T0).accepts(new.secret)


@pytest.mark.parametrize(("policy_type", "config", "field"), [
    ("speed_limit", {}, "policy_type"),
    ("rate_limit", {}, "config"),
    ("rate_limit", {"requests_per_minute": 0}, "config.requests_per_minute"),
    ("rate_limit", {"requests_per_minute": True}, "config.requests_per_minute"),
    ("rate_limit", {"requests_per_minute": 5, "burst": 1}, "config"),
    ("cost_limit", {"period": "day"}, "config"),
    ("cost_limit", {"limit_cents": 10, "period": "week"}, "config.period"),
    ("model_allowlist", {"models": []}, "config.models"),
    ("model_allowlist", {"models": ["ok", ""]}, "config.models"),
    ("model_allowlist", {"models": "gpt-4o"}, "config.models"),
])
def test_a_policy_configuration_the_type_does_not_define_is_refused(policy_type: str, config: dict[str, Any],
                                                                    field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Policy.define(tenant_id=ORG, policy_type=policy_type, config=config, at=T0)
    assert raised.value.field == field


def test_the_scope_follows_from_what_the_policy_names_and_orders_the_policies() -> None:
    app, user = uuid.uuid4(), uuid.uuid4()
    org = Policy.define(tenant_id=ORG, policy_type="rate_limit", config={"requests_per_minute": 1}, at=T0, priority=9)
    by_app = org.evolve(id=uuid.uuid4(), application_id=app, priority=1)
    by_user = org.evolve(id=uuid.uuid4(), user_id=user, priority=0)
    assert (org.scope, by_app.scope, by_user.scope) == (PolicyScope.ORGANIZATION, PolicyScope.APPLICATION,
                                                        PolicyScope.USER)
    assert applicable_order([org, by_app, by_user]) == [by_user, by_app, org]
    assert by_user.applies_to(app, user) and not by_user.applies_to(app, None)
    assert not by_app.applies_to(uuid.uuid4(), user) and not org.disable(T0).applies_to(app, user)


def test_emails_are_normalised_and_checked() -> None:
    assert User.register(tenant_id=ORG, email=" Ann@Acme.TEST ", subject="s", at=T0).email == "ann@acme.test"
    with pytest.raises(ValidationError, match="email"):
        User.register(tenant_id=ORG, email="not-an-address", subject="s", at=T0)


def test_the_nearest_rank_percentile() -> None:
    assert [p95_rank(n) for n in (1, 2, 19, 20, 21, 100, 101)] == [1, 2, 19, 19, 20, 95, 96]
    metrics = metrics_of(list(range(1, 101)), [1] * 100, failed=7)
    assert (metrics.p95_latency_ms, metrics.avg_latency_ms, metrics.error_rate) == (95.0, 50.5, 0.07)
