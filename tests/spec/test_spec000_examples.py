# mypy: disable-error-code="arg-type, list-item"
# (The spec passes what create_execution returns where the ports type an id; Portside accepts it.)
"""Spec 000's usage patterns, transcribed as close to the letter as Portside's rules allow, on
memory, SQLite and PostgreSQL (the `backend` fixture's parameter).

What differs from the spec's text, and why: ids are real UUIDs and hashes real SHA-256 digests (the
repositories check them); datetimes are timezone-aware (`datetime.now(UTC)`, not `utcnow()`, which
is naive and refused); the repositories are a unit of work's (`uow.processors`, `uow.executions`),
which is what makes a pattern's calls one transaction; and pattern 3's `else` branch is refused
while an execution of the payload is live (one live execution per payload: `submit_execution` is
the use case that reuses or waits for it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from application.testing.contracts.processing_world import World, new_underwriting_processor, seed_world
from domain.processing.hashing import document_set_hash
from domain.shared.errors import Conflict
from ports.processing import ProcessingUnitOfWorkFactory


def sha256_of(payload: dict[str, Any]) -> str:
    """Pattern 3's own hash."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@pytest.fixture
def world(processing_uow: ProcessingUnitOfWorkFactory) -> World:
    return seed_world(processing_uow)


def test_pattern_1_get_processor_configuration(processing_uow: ProcessingUnitOfWorkFactory, world: World) -> None:
    with processing_uow.for_tenant(world.acme) as uow:
        processor_repo = uow.processors
        # Get underwriting processor
        up = processor_repo.get_underwriting_processor_by_id(world.bank_up.id)
        # Get effective configuration (merged)
        config = processor_repo.get_effective_config(world.bank_up.id)
        # Use in BaseProcessor
        assert up is not None
        processor_class = processor_repo.catalog.get(up.processor)
        assert processor_class.get_config(up) == config  # Returns merged config
        assert config["min_months"] == 6  # the seeded tenant asked for six


def test_pattern_2_create_and_track_execution(processing_uow: ProcessingUnitOfWorkFactory, world: World) -> None:
    payload = {"documents": [{"type": "bank_statement", "id": "d1"}]}
    with processing_uow.for_tenant(world.acme) as uow:
        exec_repo = uow.executions
        # Check for duplicate
        existing = exec_repo.find_execution_by_hash(world.bank_up.id, sha256_of(payload))
        assert existing is None
        # Create new execution
        exec_id = exec_repo.create_execution(
            underwriting_id=world.bank_up.underwriting_id,
            underwriting_processor_id=world.bank_up.id,
            organization_id=world.acme,
            processor_name="p_bank_statement",
            payload=payload,
            payload_hash=sha256_of(payload),
            document_revision_ids=["rev_001", "rev_002"],
            document_ids_hash=document_set_hash(["rev_001", "rev_002"]),
        )
        # Update status to running
        exec_repo.update_execution_status(
            exec_id,
            "running",
            started_at=datetime.now(UTC),
        )
        # Save result
        exec_repo.save_execution_result(
            exec_id,
            output={"monthly_revenues": [45000.0]},
            factors_delta={"f_avg_revenue": 45000.0},
            run_cost_cents=50,
            completed_at=datetime.now(UTC),
        )
    with processing_uow.for_tenant(world.acme) as uow:
        stored = uow.executions.get_execution_by_id(exec_id)
        assert stored is not None and stored["status"] == "completed"
        assert stored["output"] == {"monthly_revenues": [45000.0]} and stored["run_cost_cents"] == 50


def test_pattern_3_execution_deduplication(processing_uow: ProcessingUnitOfWorkFactory, world: World) -> None:
    payload = {"documents": [{"type": "bank_statement", "id": "d1"}]}
    # Generate payload hash
    payload_hash = hashlib.sha256(
        json.dumps(payload, sort_keys=True).encode()
    ).hexdigest()

    def dedupe(uow: Any) -> Any:
        exec_repo = uow.executions
        # Check if execution exists
        existing = exec_repo.find_execution_by_hash(world.bank_up.id, payload_hash)
        if existing and existing["status"] == "completed":
            # Reuse existing execution
            return existing
        else:
            # Create new execution
            return exec_repo.create_execution(
                world.bank_up.underwriting_id, world.bank_up.id, world.acme, "p_bank_statement", payload, payload_hash)

    with processing_uow.for_tenant(world.acme) as uow:
        first = dedupe(uow)
        # While it is pending, the `else` branch is refused: one live execution per payload.
        with pytest.raises(Conflict, match=f"{first.id}.*submit_execution"):
            dedupe(uow)
        uow.executions.update_execution_status(first.id, "running", started_at=datetime.now(UTC))
        uow.executions.save_execution_result(first.id, {"monthly_revenues": [1.0]}, {}, 1, datetime.now(UTC))
        assert dedupe(uow) == uow.executions.get_execution_by_id(first.id)  # reused


def test_pattern_4_active_executions_for_consolidation(processing_uow: ProcessingUnitOfWorkFactory,
                                                       world: World) -> None:
    with processing_uow.for_tenant(world.acme) as uow:
        exec_repo, processor_repo = uow.executions, uow.processors
        for month, revenue in enumerate((1000.0, 3000.0)):
            run = exec_repo.create_execution(world.bank_up.underwriting_id, world.bank_up.id, world.acme,
                                             "p_bank_statement", {"month": month})
            exec_repo.update_execution_status(run, "running", started_at=datetime.now(UTC))
            exec_repo.save_execution_result(run, {"monthly_revenues": [revenue]}, {}, 5, datetime.now(UTC))
            processor_repo.append_to_current_executions_list(world.bank_up.id, run)
        # Get all active executions for a processor
        active_executions = exec_repo.get_active_executions(world.bank_up.id)
        # Pass to processor's consolidate method
        ProcessorClass = processor_repo.catalog.get("p_bank_statement")  # noqa: N806 - the spec's name
        consolidated_factors = ProcessorClass.consolidate(
            [exec["output"] for exec in active_executions]
        )
    assert consolidated_factors["f_avg_revenue"] == 2000.0


def test_pattern_5_supersession_and_rollback(processing_uow: ProcessingUnitOfWorkFactory, world: World) -> None:
    with processing_uow.for_tenant(world.acme) as uow:
        exec_repo, processor_repo = uow.executions, uow.processors
        old_exec_id = exec_repo.create_execution(world.bank_up.underwriting_id, world.bank_up.id, world.acme,
                                                 "p_bank_statement", {"v": 1})
        processor_repo.update_current_executions_list(world.bank_up.id, [old_exec_id])
        # Create new execution that supersedes old one
        new_exec_id = exec_repo.create_execution(world.bank_up.underwriting_id, world.bank_up.id, world.acme,
                                                 "p_bank_statement", {"v": 2})
        # Mark old execution as superseded
        exec_repo.mark_execution_superseded(old_exec_id, new_exec_id)
        # Later, if need to rollback:
        exec_repo.activate_execution(old_exec_id)
        exec_repo.deactivate_execution(new_exec_id)
        # Update current execution list
        processor_repo.update_current_executions_list(
            world.bank_up.id,
            [old_exec_id]  # Remove new_exec_id, add old_exec_id back
        )
        chain = exec_repo.get_execution_chain(old_exec_id)
        up = processor_repo.get_underwriting_processor_by_id(world.bank_up.id)
    assert [e.id for e in chain] == [old_exec_id.id, new_exec_id.id]
    assert up is not None and up["current_executions_list"] == [old_exec_id.id]


def test_pattern_6_filter_processors_for_auto_execution(processing_uow: ProcessingUnitOfWorkFactory,
                                                        world: World) -> None:
    payload = {"documents": [{"type": "bank_statement", "id": "d9"}]}
    case = uuid.uuid4()
    with processing_uow.for_tenant(world.acme) as uow:
        uow.processors.underwriting.bulk_create([
            new_underwriting_processor(world.bank, case, 1, auto=True),
            new_underwriting_processor(world.credit, case, 2, auto=True),
            new_underwriting_processor(world.bank, uuid.uuid4(), 3, auto=True),  # another case
        ])
    with processing_uow.for_tenant(world.acme) as uow:
        processor_repo, exec_repo = uow.processors, uow.executions
        # Get all auto-enabled processors for an underwriting
        processors = processor_repo.get_underwriting_processors(
            underwriting_id=case,
            enabled_only=True,
            auto_only=True
        )
        started = []
        # Execute each processor
        for proc in processors:
            ProcessorClass = processor_repo.catalog.get(proc["processor"])  # noqa: N806 - the spec's name
            # Check if should execute
            if ProcessorClass.should_execute(payload, proc["effective_config"]):
                exec_id = exec_repo.create_execution(proc["underwriting_id"], proc["id"], world.acme, proc["processor"],
                                                     payload)
                started.append(exec_id)
    assert [e.processor for e in processors] == ["p_bank_statement", "p_credit_report"]
    assert [e.processor for e in started] == ["p_bank_statement"]  # a credit report needs `ssn_last4`
