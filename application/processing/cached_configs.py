"""Effective configs from the cache (spec 000's "frequently accessed configs").

`CachedEffectiveConfig` answers what `ResolveEffectiveConfig` answers, from the tenant's cache when
it can. Every write that changes an effective config (a subscription's config, an underwriting
override, a removal) tells `drop_effective_configs` the ids after its transaction commits (the
processing unit of work's after-commit hook), so no reader is served a config the database no
longer holds: the entry is gone before the writer's call returns. A load that was running when the
entry was dropped is answered to its callers but not stored (single flight's stale mark).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from application.caching.patterns import record_key
from application.processing.subscriptions import ResolveEffectiveConfig
from domain.shared.ids import parse_id
from domain.shared.scope import TenantScope
from ports.caching import CacheProvider

KIND = "processing:effective_config"
DEFAULT_TTL_SECONDS = 3600.0


def effective_config_key(underwriting_processor_id: uuid.UUID) -> str:
    return record_key(KIND, underwriting_processor_id)


class CachedEffectiveConfig:
    def __init__(self, resolve: ResolveEffectiveConfig, caches: CacheProvider,
                 ttl: float = DEFAULT_TTL_SECONDS) -> None:
        self._resolve = resolve
        self._caches = caches
        self._ttl = ttl

    def __call__(self, tenant_id: object, underwriting_processor_id: object) -> dict[str, Any]:
        key = parse_id(underwriting_processor_id, "underwriting_processor_id")
        cache = self._caches.for_tenant(tenant_id)
        found: dict[str, Any] = cache.get_or_set(effective_config_key(key), lambda: self._resolve(tenant_id, key),
                                                 self._ttl)
        return found


def drop_effective_configs(caches: CacheProvider) -> Callable[[TenantScope, Sequence[uuid.UUID]], None]:
    """The processing unit of work's `config_changes` listener."""

    def drop(scope: TenantScope, ids: Sequence[uuid.UUID]) -> None:
        if scope.tenant is None:
            return
        cache = caches.for_tenant(scope.tenant)
        for up_id in ids:
            cache.delete(effective_config_key(up_id))

    return drop
