"""Spec 000's ProcessorRepository on any backend: the catalog (code), purchased processors (the
tenant's subscriptions) and underwriting processors (a case's attachments)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.records.crud import Crud
from adapters.records.store import OLDEST_FIRST, Query, RecordStore, equal
from domain.processing.catalog import CatalogEntry, ProcessorCatalog
from domain.processing.config import merge_config
from domain.processing.execution import Execution
from domain.processing.filters import PurchasedProcessorFilter, UnderwritingProcessorFilter
from domain.processing.subscriptions import PurchasedProcessor, SubscriptionStatus, UnderwritingProcessor
from domain.shared.checks import flag, id_list, optional_version, text_argument
from domain.shared.errors import ConcurrencyConflict, NotFound, ValidationError
from domain.shared.filters import Condition, Operator
from domain.shared.ids import parse_id
from domain.shared.time import ensure_utc
from ports.clock import Clock
from ports.processing import ProcessorRepository, PurchasedProcessorStore, UnderwritingProcessorStore

KEY_LOOKUP_CHUNK = 500
"""Ids per `IN (...)` lookup: far below SQLite's and PostgreSQL's bound-parameter limits."""


def now_of(clock: Clock) -> datetime:
    """The time the processing ports take from the clock where they pass none."""
    return ensure_utc(clock.now(), "clock")


class PurchasedProcessors(Crud[PurchasedProcessor, PurchasedProcessorFilter], PurchasedProcessorStore):
    """Generic CRUD of `purchased_processors` (`uow.processors.purchased`). A change of a subscription
    re-resolves the stored effective config of every underwriting processor using it, in the same
    transaction, so the stored value never goes stale."""

    def __init__(self, store: RecordStore[PurchasedProcessor], changed: Callable[[PurchasedProcessor], None],
                 clock: Clock, removed: Callable[[uuid.UUID], None] = lambda _: None) -> None:
        super().__init__(store, clock)
        self._changed = changed
        self._removed = removed

    def update(self, entity: PurchasedProcessor | uuid.UUID,
               updates: Mapping[str, Any] | None = None) -> PurchasedProcessor:
        stored = super().update(entity, updates)
        self._changed(stored)
        return stored

    def delete(self, entity_id: uuid.UUID, expected_version: int | None = None) -> None:
        super().delete(entity_id, expected_version)
        self._removed(parse_id(entity_id, "entity_id"))


class UnderwritingProcessors(Crud[UnderwritingProcessor, UnderwritingProcessorFilter], UnderwritingProcessorStore):
    """Generic CRUD of `underwriting_processors` (`uow.processors.underwriting`): what is written has
    its effective config resolved from the catalog, the subscription and its own override."""

    def __init__(self, store: RecordStore[UnderwritingProcessor],
                 resolve: Callable[[UnderwritingProcessor], UnderwritingProcessor], clock: Clock,
                 config_changed: Callable[[Sequence[uuid.UUID]], None] = lambda _: None) -> None:
        super().__init__(store, clock)
        self._resolve = resolve
        self._config_changed = config_changed

    def create(self, entity: UnderwritingProcessor | Mapping[str, Any]) -> UnderwritingProcessor:
        built = self._from_data(entity) if isinstance(entity, Mapping) else entity
        return super().create(self._resolve(self._checked(built)))

    def bulk_create(self, entities: Sequence[UnderwritingProcessor]) -> list[UnderwritingProcessor]:
        if isinstance(entities, str | bytes) or not isinstance(entities, Sequence):
            raise ValidationError("entities", f"expected a list, got {type(entities).__name__}")
        return super().bulk_create([self._resolve(self._checked(entity)) for entity in entities])

    def update(self, entity: UnderwritingProcessor | uuid.UUID,
               updates: Mapping[str, Any] | None = None) -> UnderwritingProcessor:
        stored = super().update(self._resolve(self._checked(self._updated(entity, updates))))
        self._config_changed([stored.id])
        return stored

    def delete(self, entity_id: uuid.UUID, expected_version: int | None = None) -> None:
        super().delete(entity_id, expected_version)
        self._config_changed([parse_id(entity_id, "entity_id")])


class Processors(ProcessorRepository):
    """The whole `ProcessorRepository` over its two stores and the executions store (read to check
    the ids of a current executions list)."""

    purchased: PurchasedProcessors
    underwriting: UnderwritingProcessors

    def __init__(self, purchased: RecordStore[PurchasedProcessor], underwriting: RecordStore[UnderwritingProcessor],
                 executions: RecordStore[Execution], catalog: ProcessorCatalog, clock: Clock,
                 config_changed: Callable[[Sequence[uuid.UUID]], None] | None = None) -> None:
        """`config_changed`: told the ids of the underwriting processors whose effective config a
        write changed or removed (the cache of effective configs drops them after the commit)."""
        self._config_changed = config_changed if config_changed is not None else (lambda _: None)
        self.purchased = PurchasedProcessors(purchased, self._refresh_users_of, clock, self._subscription_removed)
        self.underwriting = UnderwritingProcessors(underwriting, self._resolved, clock, self._config_changed)
        self.catalog = catalog
        self._executions = executions
        self._clock = clock

    def get_processor_catalog(self) -> list[CatalogEntry]:
        return self.catalog.entries()

    # -- purchased processors -------------------------------------------------------------------
    def get_purchased_processor_by_id(self, purchased_processor_id: uuid.UUID) -> PurchasedProcessor | None:
        return self.purchased.get_by_id(parse_id(purchased_processor_id, "purchased_processor_id"))

    def get_purchased_processors_by_organization(
        self, org_id: uuid.UUID, enabled_only: bool = False, auto_only: bool = False
    ) -> list[PurchasedProcessor]:
        conditions = [
            equal("organization_id", parse_id(org_id, "org_id")),
            equal("status", SubscriptionStatus.ACTIVE.value) if flag(enabled_only, "enabled_only")
            else Condition("status", Operator.NE, SubscriptionStatus.DELETED.value),
        ]
        if flag(auto_only, "auto_only"):
            conditions.append(equal("auto", True))
        return self.purchased.store.find(Query(tuple(conditions), OLDEST_FIRST))

    def get_processor_by_name(self, processor_name: str, org_id: uuid.UUID) -> PurchasedProcessor | None:
        found = self.purchased.store.find(Query((
            equal("organization_id", parse_id(org_id, "org_id")),
            equal("processor", text_argument(processor_name, "processor_name")),
            Condition("status", Operator.NE, SubscriptionStatus.DELETED.value),
        ), OLDEST_FIRST))
        # Nothing keeps a tenant from holding two live subscriptions of one processor: the active one
        # wins over a disabled one, then the oldest, so the answer is the same on every backend.
        active = [row for row in found if row.status == SubscriptionStatus.ACTIVE]
        best = active or found
        return best[0] if best else None

    # -- underwriting processors ----------------------------------------------------------------
    def get_underwriting_processor_by_id(self, up_id: uuid.UUID) -> UnderwritingProcessor | None:
        return self.underwriting.get_by_id(parse_id(up_id, "up_id"))

    def get_underwriting_processors(
        self, underwriting_id: uuid.UUID, enabled_only: bool = False, auto_only: bool = False
    ) -> list[UnderwritingProcessor]:
        conditions = [equal("underwriting_id", parse_id(underwriting_id, "underwriting_id"))]
        if flag(enabled_only, "enabled_only"):
            conditions.append(equal("enabled", True))
        if flag(auto_only, "auto_only"):
            conditions.append(equal("auto", True))
        return self.underwriting.store.find(Query(tuple(conditions), OLDEST_FIRST))

    def update_current_executions_list(self, up_id: uuid.UUID, execution_ids: Sequence[uuid.UUID],
                                       expected_version: int | None = None) -> bool:
        key = parse_id(up_id, "up_id")
        wanted = list(dict.fromkeys(id_list(execution_ids, "execution_ids")))
        version = optional_version(expected_version)
        up = self._underwriting_or_raise(key)
        if version is not None and up.version != version:
            raise ConcurrencyConflict(self.underwriting.entity_name, key, version)
        self._check_executions_of(up, wanted)
        if up.current_executions_list == wanted:
            return False  # nothing to write: the version stays, no concurrent writer is disturbed
        self.underwriting.store.update(up.with_executions(wanted, now_of(self._clock)), keys_unchanged=True)
        return True

    def append_to_current_executions_list(self, up_id: uuid.UUID, execution_id: uuid.UUID) -> bool:
        key = parse_id(up_id, "up_id")
        added = parse_id(execution_id, "execution_id")
        up = self._underwriting_or_raise(key)
        if added in up.current_executions_list:
            return False
        self._check_executions_of(up, [added])
        # Written with the version just read: a concurrent append makes this one stale, never lost.
        self.underwriting.store.update(up.with_executions([*up.current_executions_list, added], now_of(self._clock)),
                                       keys_unchanged=True)
        return True

    def _check_executions_of(self, up: UnderwritingProcessor, wanted: list[uuid.UUID]) -> None:
        found: set[uuid.UUID] = set()
        for start in range(0, len(wanted), KEY_LOOKUP_CHUNK):
            chunk = tuple(wanted[start: start + KEY_LOOKUP_CHUNK])
            rows = self._executions.find(Query((
                equal("underwriting_processor_id", up.id), Condition("id", Operator.IN, chunk),
            )))
            found.update(row.id for row in rows)
        missing = next((execution_id for execution_id in wanted if execution_id not in found), None)
        if missing is not None:
            raise ValidationError("execution_ids", f"{missing} is not an execution of underwriting processor {up.id}")

    def get_effective_config(self, up_id: uuid.UUID) -> dict[str, Any]:
        up = self._underwriting_or_raise(parse_id(up_id, "up_id"))
        definition = self.catalog.get(up.processor)  # NotFound if the code no longer has the processor
        purchased = self.purchased.get_by_id(up.purchased_processor_id)
        if purchased is None:
            # Resolving without the tenant layer would hand out a config nobody chose.
            raise NotFound(self.purchased.entity_name, up.purchased_processor_id)
        return merge_config(definition.CONFIG, purchased.config, up.config_override)

    def _resolved(self, up: UnderwritingProcessor) -> UnderwritingProcessor:
        """`up` with the effective config `get_effective_config` would answer; as it is when a layer
        is missing (a processor the code no longer has, a subscription not visible), which
        `get_effective_config` reports as `NotFound`."""
        if up.processor not in self.catalog:
            return up
        purchased = self.purchased.get_by_id(up.purchased_processor_id)
        if purchased is None:
            return up
        effective = merge_config(self.catalog.get(up.processor).CONFIG, purchased.config, up.config_override)
        return up if effective == up.effective_config else up.evolve(effective_config=effective)

    def _users_of(self, purchased_id: uuid.UUID) -> list[UnderwritingProcessor]:
        return self.underwriting.store.find(Query((equal("purchased_processor_id", purchased_id),)))

    def _subscription_removed(self, purchased_id: uuid.UUID) -> None:
        self._config_changed([up.id for up in self._users_of(purchased_id)])

    def _refresh_users_of(self, purchased: PurchasedProcessor) -> None:
        users = self._users_of(purchased.id)
        self._config_changed([up.id for up in users])
        for up in users:
            resolved = self._resolved(up)
            if resolved is not up:
                at = max(up.updated_at, purchased.updated_at)
                self.underwriting.store.update(resolved.evolve(updated_at=at), keys_unchanged=True)

    def _underwriting_or_raise(self, key: uuid.UUID) -> UnderwritingProcessor:
        found = self.underwriting.get_by_id(key)
        if found is None:
            raise NotFound(self.underwriting.entity_name, key)
        return found
