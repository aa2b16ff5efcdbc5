"""The asynchronous audit writer across the end of a process, on the embedded SQLite file: a graceful
shutdown (SIGTERM handled by exiting, as servers do) stores every accepted entry through the writer's
exit hook; a hard kill loses what the queue held, as docs/control_plane.md says."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.sql import migrate

pytestmark = pytest.mark.sqlite

ENTRIES = 500

# The writer waits up to 30 s for a batch of 1,000 to fill: none of the 500 entries is written before
# the process ends, so whatever is stored was written by the shutdown.
CHILD = textwrap.dedent(f"""
    import os, signal, sys
    from datetime import UTC, datetime
    from adapters.rules.audit_writer import BatchingAuditWriter
    from application.container import build_container
    from application.settings import Settings
    from application.tenancy.use_cases import NewTenant
    from domain.control_plane.audit import AuditLog

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    container = build_container(Settings(database_url=sys.argv[1]))
    tenant = container.create_tenant()(NewTenant.parse(name="Shutdown Co"))
    writer = BatchingAuditWriter(container.control_plane_unit_of_work(), batch_size=1000, flush_interval=30)
    for n in range({ENTRIES}):
        writer.submit(AuditLog.record(tenant_id=tenant.id, action="request.served", resource_type="request",
                                      at=datetime.now(UTC), details={{"n": n}}))
    print("accepted", flush=True)
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))
""")


def _stored_after(tmp_path: Path, signal_name: str) -> int:
    url = f"sqlite:///{tmp_path / 'portside.db'}"
    migrate.upgrade(url)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", CHILD, url, signal_name], cwd=root, capture_output=True, text=True,
                          timeout=120, check=False)
    assert "accepted" in done.stdout, done.stderr
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM audit_logs")).scalar_one())
    finally:
        engine.dispose()


def test_a_graceful_shutdown_stores_every_accepted_entry(tmp_path: Path) -> None:
    assert _stored_after(tmp_path, signal.SIGTERM.name) == ENTRIES


def test_a_hard_kill_loses_what_the_queue_held(tmp_path: Path) -> None:
    assert _stored_after(tmp_path, signal.SIGKILL.name) == 0
