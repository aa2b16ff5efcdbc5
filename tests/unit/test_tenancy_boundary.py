"""Bad input at the use-case boundary: whatever arrives, the result is a tenant or a
`ValidationError` naming a field, and a refused command writes nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.container import in_memory_container
from application.tenancy.use_cases import NewTenant, TenantChanges
from domain.shared.errors import ValidationError
from domain.tenancy.tenant import SLUG_PATTERN

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
anything = st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=80), st.binary(max_size=4),
                     st.lists(st.integers(), max_size=2))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(name=anything, slug=st.one_of(st.none(), anything), tenant_settings=st.one_of(json_values, anything))
def test_create_tenant_either_succeeds_or_names_the_field(name: Any, slug: Any, tenant_settings: Any) -> None:
    container = in_memory_container()
    try:
        command = NewTenant.parse(name=name, slug=slug, settings=tenant_settings)
        tenant = container.create_tenant()(command)
    except ValidationError as error:
        assert error.field.split(".")[0] in {"name", "slug", "settings"}
        assert container.list_tenants()().total == 0
        return
    assert SLUG_PATTERN.fullmatch(tenant.slug)
    assert tenant.name == tenant.name.strip() and 0 < len(tenant.name) <= 200
    assert container.get_tenant()(tenant.id) == tenant


@settings(max_examples=150)
@given(version=anything, name=st.one_of(st.none(), anything))
def test_update_tenant_refuses_bad_changes_without_writing(version: Any, name: Any) -> None:
    container = in_memory_container()
    tenant = container.create_tenant()(NewTenant.parse(name="Acme"))
    try:
        changes = TenantChanges.parse(tenant_id=tenant.id, expected_version=version, name=name)
        updated = container.update_tenant()(changes)
    except ValidationError as error:
        assert error.field in {"expected_version", "name", "changes"}
        assert container.get_tenant()(tenant.id) == tenant
        return
    except Exception as error:  # a stale but well-formed version
        assert type(error).__name__ == "ConcurrencyConflict"
        assert container.get_tenant()(tenant.id) == tenant
        return
    assert updated.version == 2 and updated.name == str(name).strip()
