"""The control plane's own error."""

from __future__ import annotations

from domain.shared.errors import PortsideError


class ApiKeyRejected(PortsideError):  # noqa: N818 - named for what happened, like NotFound
    """The presented API key is no application's current key (unknown, rotated, revoked, or its
    application deactivated). One error for every case, so a caller learns nothing about which."""

    def __init__(self) -> None:
        super().__init__("the API key was not accepted")
