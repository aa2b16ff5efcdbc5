"""A deployment's own processors: declared like spec 000's BaseProcessor, handed to the container
directly or through `PORTSIDE_PROCESSOR_CATALOG`, and used by every processing use case."""

from __future__ import annotations

import sys
import types
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pytest

from application.container import build_container, in_memory_container
from application.processing.commands import AttachProcessor, AutoRun, Completion, Purchase
from application.settings import MEMORY_URL, Settings
from application.tenancy.use_cases import NewTenant
from domain.processing.catalog import BaseProcessor, ProcessorCatalog
from domain.shared.errors import NotFound, ValidationError


class PayStubProcessor(BaseProcessor):
    name = "p_pay_stub"
    display_name = "Pay stubs"
    CONFIG: ClassVar[Mapping[str, Any]] = {"min_stubs": 2, "employer_check": {"enabled": True}}

    @classmethod
    def should_execute(cls, payload: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
        return len(payload.get("stubs", [])) >= int(config["min_stubs"])

    @classmethod
    def consolidate(cls, outputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return {"f_monthly_income": sum(float(o["income"]) for o in outputs)}


@pytest.fixture
def catalog_module() -> Iterator[str]:
    module = types.ModuleType("portside_test_processors")
    module.PROCESSORS = [PayStubProcessor]  # type: ignore[attr-defined]
    module.make_catalog = lambda: ProcessorCatalog([PayStubProcessor])  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield module.__name__
    del sys.modules[module.__name__]


def test_the_users_processors_run_through_every_use_case() -> None:
    container = in_memory_container(catalog=[PayStubProcessor])
    tenant = container.create_tenant()(NewTenant.parse(name="Lender"))
    container.purchase_processor()(Purchase.parse(tenant_id=tenant.id, processor="p_pay_stub", auto=True,
                                                  config={"min_stubs": 1}))
    up = container.attach_processor()(AttachProcessor.parse(tenant_id=tenant.id, underwriting_id=uuid.uuid4(),
                                                            processor="p_pay_stub"))
    assert PayStubProcessor.get_config(up) == {"min_stubs": 1, "employer_check": {"enabled": True}}
    [run] = container.auto_execute()(AutoRun.parse(tenant_id=tenant.id, underwriting_id=up.underwriting_id,
                                                   payload={"stubs": ["s1"]}))
    container.start_execution()(tenant.id, run.execution.id)
    container.complete_execution()(Completion.parse(tenant_id=tenant.id, execution_id=run.execution.id,
                                                    output={"income": 4200}, run_cost_cents=3))
    assert container.consolidate_factors()(tenant.id, up.id) == {"f_monthly_income": 4200.0}
    with pytest.raises(NotFound):  # the shipped examples are not in a catalog that did not ask for them
        container.purchase_processor()(Purchase.parse(tenant_id=tenant.id, processor="p_bank_statement"))


@pytest.mark.parametrize("attribute", ["PROCESSORS", "make_catalog"])
def test_the_catalog_setting_names_module_and_attribute(catalog_module: str, attribute: str) -> None:
    container = build_container(Settings(database_url=MEMORY_URL, processor_catalog=f"{catalog_module}:{attribute}"))
    assert [entry.name for entry in container.catalog().entries()] == ["p_pay_stub"]


@pytest.mark.parametrize(("reference", "reason"), [
    ("no_colon", "module:attribute"), ("portside_missing_module:x", "cannot import"),
    ("application.settings:nothing_here", "no attribute"), ("application.settings:MEMORY_URL", "ProcessorCatalog"),
])
def test_a_bad_catalog_setting_is_a_validation_error(reference: str, reason: str) -> None:
    container = build_container(Settings(database_url=MEMORY_URL, processor_catalog=reference))
    with pytest.raises(ValidationError, match=reason) as raised:
        container.catalog()
    assert raised.value.field == "processor_catalog"


def test_a_processor_must_be_declared_whole() -> None:
    class Nameless(BaseProcessor):
        display_name = "No name"

        @classmethod
        def consolidate(cls, outputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
            return {}

    class BadName(Nameless):
        name = "Bank Statement"

    for broken in (Nameless, BadName, object):
        with pytest.raises(ValidationError):
            ProcessorCatalog([broken])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="two processors"):
        ProcessorCatalog([PayStubProcessor, type("Other", (PayStubProcessor,), {})])
