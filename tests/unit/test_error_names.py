"""The error names the specifications' examples catch are Portside's own classes, and the two kinds
of transient storage failure (a wait past its limit, a connection lost) stay apart."""

from __future__ import annotations

import pytest

from domain.shared import errors


@pytest.mark.parametrize(("spec_name", "portside"), [
    ("RepositoryError", errors.PortsideError),
    ("NotFoundError", errors.NotFound),
    ("RecordNotFoundError", errors.NotFound),
    ("ConflictError", errors.Conflict),
    ("DatabaseConnectionError", errors.ConnectionLost),
    ("DatabaseTimeoutError", errors.StorageTimeout),
])
def test_a_spec_name_is_the_portside_class(spec_name: str, portside: type[Exception]) -> None:
    assert getattr(errors, spec_name) is portside


def test_timeouts_and_lost_connections_are_transient_and_distinct() -> None:
    for kind in (errors.StorageTimeout, errors.ConnectionLost):
        assert issubclass(kind, errors.StorageUnavailable) and issubclass(kind, errors.RepositoryError)
    assert not issubclass(errors.StorageTimeout, errors.ConnectionLost)
    assert not issubclass(errors.ConnectionLost, errors.StorageTimeout)
    with pytest.raises(errors.DatabaseTimeoutError):
        raise errors.StorageTimeout("statement timeout")
