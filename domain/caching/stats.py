"""What `get_stats` reports: spec 002's sizes beside each tier's hit, miss and promotion counts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TierStats:
    name: str
    """`l1` (memory), `l2` (Redis, or its memory stand-in during an outage), `l3` (SQL)."""
    hits: int
    misses: int
    promotions: int = 0
    """Entries copied into this tier from a slower one on a read."""
    size: int = 0
    memory_bytes: int = 0


@dataclass(frozen=True, slots=True)
class CacheStats:
    l1_size: int
    l2_size: int
    l3_count: int
    l1_memory_bytes: int
    """Bytes of the JSON text of the memory tier's entries (spec 002's measure)."""
    hits: int
    misses: int
    promotions: int
    tiers: tuple[TierStats, ...] = field(default=())

    @property
    def hit_ratio(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0
