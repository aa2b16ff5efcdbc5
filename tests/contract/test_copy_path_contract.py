"""PostgreSQL's COPY path (adapters/sql/copy.py): the bulk-write, tenancy, reliability and processing
contracts again with every multi-row insert going through COPY, and what only this path can show."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from adapters.rules.processing import processing_units
from adapters.rules.reliability import reliability_units
from adapters.rules.tenancy import tenancy_units
from adapters.sql.backend import SqlBackend
from adapters.sql.processing import SqlExecutionQueries
from adapters.sql.records import SqlRecordStore
from application.testing.contracts.bulk_writes import BulkWriteContract
from application.testing.contracts.processing import ProcessingContract
from application.testing.contracts.reliability import ReliabilityContract, new_workflow
from application.testing.contracts.tenancy import TenancyContract, tenant
from domain.shared.errors import StorageError
from domain.tenancy.tenant import Tenant
from ports.processing import ProcessingUnitOfWorkFactory
from ports.reliability import ReliabilityUnitOfWorkFactory
from ports.tenancy import TenancyUnitOfWork, TenancyUnitOfWorkFactory
from tests.conftest import copying_from, on_each_postgres_driver

pytestmark = [pytest.mark.postgres, on_each_postgres_driver]

STAGED_TENANTS = "SELECT count(*) FROM portside_staging_tenants"


@pytest.fixture
def copying(postgres_storage: SqlBackend) -> SqlBackend:
    """Every insert of two rows or more through COPY."""
    return copying_from(postgres_storage, 2)


@pytest.fixture
def tenancy_uow(copying: SqlBackend) -> TenancyUnitOfWorkFactory:
    return tenancy_units(copying)


@pytest.fixture
def reliability_uow(copying: SqlBackend) -> ReliabilityUnitOfWorkFactory:
    return reliability_units(copying)


@pytest.fixture
def processing_uow(copying: SqlBackend) -> ProcessingUnitOfWorkFactory:
    return processing_units(copying, queries=SqlExecutionQueries)


class TestBulkWritesThroughCopy(BulkWriteContract):
    pass


class TestTenancyThroughCopy(TenancyContract):
    pass


class TestReliabilityThroughCopy(ReliabilityContract):
    pass


class TestProcessingThroughCopy(ProcessingContract):
    pass


def _connection(uow: TenancyUnitOfWork) -> sa.Connection:
    store = uow.tenants.store  # type: ignore[attr-defined]
    assert isinstance(store, SqlRecordStore)
    return store.connection


@pytest.mark.parametrize(("rows", "through_copy"), [(4, False), (5, True), (6, True)])
def test_the_threshold_picks_the_path(postgres_storage: SqlBackend, multi_row_inserts: list[str], rows: int,
                                      through_copy: bool) -> None:
    units = tenancy_units(copying_from(postgres_storage, 5))
    with units.system() as uow:
        connection = _connection(uow)
        connection.exec_driver_sql("DROP TABLE IF EXISTS portside_staging_tenants")
        uow.tenants.bulk_create([tenant(f"T {i}", f"t-{i}") for i in range(rows)])
        staged = connection.exec_driver_sql("SELECT to_regclass('pg_temp.portside_staging_tenants')").scalar_one()
        if through_copy:
            # One COPY into the staging table, whose rows stay until the transaction ends.
            assert multi_row_inserts == [] and connection.exec_driver_sql(STAGED_TENANTS).scalar_one() == rows
        else:
            assert len(multi_row_inserts) == 1 and staged is None
        assert uow.tenants.count() == rows


def test_a_tenants_staged_rows_do_not_outlive_its_transaction(copying: SqlBackend) -> None:
    units = tenancy_units(copying)
    with units.system() as uow:
        uow.tenants.bulk_create([tenant(f"T {i}", f"t-{i}") for i in range(3)])
        uow.commit()  # the unit of work goes on, on the same connection
        assert _connection(uow).exec_driver_sql(STAGED_TENANTS).scalar_one() == 0
        uow.tenants.bulk_create([tenant(f"U {i}", f"u-{i}") for i in range(2)])
        uow.rollback()
        assert _connection(uow).exec_driver_sql(STAGED_TENANTS).scalar_one() == 0
        assert uow.tenants.count() == 3


def test_two_bulk_writes_in_one_transaction_each_move_their_own_rows(copying: SqlBackend) -> None:
    units = tenancy_units(copying)
    first, second = [tenant(f"T {i}", f"t-{i}") for i in range(3)], [tenant(f"U {i}", f"u-{i}") for i in range(2)]
    with units.system() as uow:
        uow.tenants.bulk_create(first)
        uow.tenants.bulk_create(second)  # a stale staged row would be a taken id here
        assert _connection(uow).exec_driver_sql(STAGED_TENANTS).scalar_one() == 2
    with units.system() as uow:
        assert uow.tenants.count() == 5


def test_a_staging_table_lost_with_a_savepoint_is_made_again(copying: SqlBackend) -> None:
    units = tenancy_units(copying)
    with units.system() as outer:
        _connection(outer).exec_driver_sql("DROP TABLE IF EXISTS portside_staging_tenants")
        with pytest.raises(RuntimeError), outer:
            outer.tenants.bulk_create([tenant(f"T {i}", f"t-{i}") for i in range(3)])  # made in the savepoint
            raise RuntimeError("rolled back, and the staging table with it")
        outer.tenants.bulk_create([tenant(f"U {i}", f"u-{i}") for i in range(2)])
        assert outer.tenants.count() == 2


def test_row_level_security_checks_every_copied_row(copying: SqlBackend) -> None:
    """Past the repositories' own tenant check (called on the store itself), the policy still refuses
    another tenant's row moved from the staging table: the COPY path keeps the second wall."""
    acme, globex = uuid.uuid4(), uuid.uuid4()
    units = reliability_units(copying)
    with units.for_tenant(acme) as uow:
        store = uow.workflows.store  # type: ignore[attr-defined]
        with pytest.raises(StorageError, match="row-level security"):
            store.insert([new_workflow(acme, "Ours"), new_workflow(globex, "Theirs")])
        assert uow.workflows.count() == 0
    with units.for_tenant(globex) as uow:
        assert uow.workflows.count() == 0


def test_a_row_that_cannot_be_encoded_raises_its_own_error_and_the_unit_of_work_goes_on(copying: SqlBackend) -> None:
    units = tenancy_units(copying)
    # Built without validation, which would refuse it: what a bug past the validation edge could send.
    broken = Tenant.model_construct(**{**tenant("Broken", "broken").__dict__, "settings": {"not json": object()}})
    with units.system() as uow:
        with pytest.raises(TypeError, match="not JSON serializable"):
            uow.tenants.bulk_create([tenant("Fine", "fine"), broken])
        assert uow.tenants.count() == 0
        uow.tenants.bulk_create([tenant(f"T {i}", f"t-{i}") for i in range(2)])
    with units.system() as uow:
        assert uow.tenants.count() == 2
