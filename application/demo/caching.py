"""The caching scenario: cache-aside reads with their hit ratio, write-through, workspace
invalidation, a stampede that runs its loader once, bad input refused, and per-tier statistics."""

from __future__ import annotations

import random
import threading
import time
import uuid

from pydantic import BaseModel

from application.caching.patterns import get_or_set_record, invalidate_workspace, record_key, write_through
from application.console import Report
from application.container import Container
from domain.shared.errors import ValidationError

DEMO_TENANT = uuid.UUID("0190a000-0000-7000-8000-00000000dea0")
RECORDS = 40
READS = 2000


class DemoJob(BaseModel):
    """A record as a repository answers it (the jobs context's Job, once it lands)."""

    id: uuid.UUID
    status: str
    workspace: int


def run(container: Container, report: Report) -> None:
    settings = container.settings()
    cache = container.cache().for_tenant(DEMO_TENANT)
    report.heading(f"caching: tiers {' -> '.join(settings.cache_tier_list)}, keys under {cache.namespace}")
    cache.invalidate_pattern("*")  # a clean slate when the demo runs again on shared tiers
    before = cache.get_stats()

    database = {index: DemoJob(id=uuid.uuid4(), status="queued", workspace=index % 4)
                for index in range(RECORDS)}
    loads = [0]

    def load(index: int) -> DemoJob:
        loads[0] += 1
        time.sleep(0.0005)  # a database round trip
        return database[index]

    chooser = random.Random(7)
    started = time.perf_counter()
    for _ in range(READS):
        index = min(int(chooser.paretovariate(1.2)) - 1, RECORDS - 1)  # a few hot records, a long tail
        get_or_set_record(cache, record_key(f"workspace:{database[index].workspace}:job", index),
                          lambda index=index: load(index), DemoJob, ttl=300)  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    report.note(f"cache-aside: {READS} reads of {RECORDS} records ran the loader {loads[0]} times "
                f"({READS - loads[0]} served from the cache) in {elapsed * 1000:.0f} ms")

    changed = database[0].model_copy(update={"status": "running"})
    write_through(cache, record_key("workspace:0:job", 0), changed, ttl=300)
    cached = cache.get(record_key("workspace:0:job", 0), DemoJob)
    report.note(f"write-through: job 0 is now {cached.status if cached else None!r} in the cache, as in the database")
    report.note(f"workspace invalidation: workspace 1 had {invalidate_workspace(cache, 1)} cached jobs, "
                f"now {len(cache.get_keys('workspace:1:*'))}")

    stampede_loads = [0]
    lock = threading.Lock()

    def slow() -> str:
        with lock:
            stampede_loads[0] += 1
        time.sleep(0.1)
        return "computed once"

    threads = [threading.Thread(target=lambda: cache.get_or_set("dashboard", slow, ttl=60)) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.note(f"stampede: 50 callers missed 'dashboard' at once; the loader ran {stampede_loads[0]} time(s)")

    for bad in ({"key": "", "ttl": 60}, {"key": "k", "ttl": -5}):
        try:
            cache.set(str(bad["key"]), 1, ttl=float(str(bad["ttl"])))
        except ValidationError as error:
            report.note(f"refused: ValidationError: {error}")
    try:
        cache.set("k", {1, 2})
    except ValidationError as error:
        report.note(f"refused: ValidationError: {error}")

    stats = cache.get_stats()
    hits, misses = stats.hits - before.hits, stats.misses - before.misses
    report.note(f"hit ratio {hits / max(1, hits + misses):.1%} ({hits} hits, {misses} misses); "
                f"l1_size {stats.l1_size}, l2_size {stats.l2_size}, l3_count {stats.l3_count}, "
                f"l1_memory_bytes {stats.l1_memory_bytes}")
    report.table(["tier", "hits", "misses", "hit ratio", "promotions", "size"], [
        [line.name, line.hits, line.misses, f"{line.hits / max(1, line.hits + line.misses):.1%}", line.promotions,
         line.size] for line in stats.tiers
    ])
    for health in cache.health():
        report.note(f"{health.backend}: {'reachable' if health.reachable else 'NOT reachable'} ({health.detail})")
