"""An application of an organization, which calls the control plane with its API key.

One key at a time: issuing a key replaces the previous one (rotation), revoking stops the current
one. The application stores the key's hash and the first characters of the key, never the key. A
revoked key's hash stays (marked by `api_key_revoked_at`), so that the audit trail and a lookup can
still tell a revoked key from a key that never existed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from domain.control_plane.api_keys import HASH_LENGTH, IssuedKey, issue_key, key_matches
from domain.shared.entity import TenantOwned
from domain.shared.time import UtcDatetime

ApplicationName = Annotated[str, Field(min_length=1, max_length=200)]


class Application(TenantOwned):
    name: ApplicationName
    description: str = Field(default="", max_length=2000)
    api_key_hash: str = Field(min_length=HASH_LENGTH, max_length=HASH_LENGTH, pattern=r"^[0-9a-f]+$")
    api_key_prefix: str | None = Field(default=None, max_length=20)
    api_key_issued_at: UtcDatetime | None = None
    api_key_revoked_at: UtcDatetime | None = None
    is_active: bool = True

    @classmethod
    def register(cls, *, tenant_id: uuid.UUID, name: str, at: datetime, **extra: Any) -> tuple[Application, IssuedKey]:
        """A new application and its first key (the key's secret is in the `IssuedKey` only)."""
        key = issue_key()
        application = cls.new(tenant_id=tenant_id, name=name, api_key_hash=key.hash, api_key_prefix=key.prefix,
                              api_key_issued_at=at, created_at=at, updated_at=at, **extra)
        return application, key

    @property
    def has_key(self) -> bool:
        """Whether the application has a key that works (not revoked)."""
        return self.api_key_revoked_at is None

    def rotate_key(self, at: datetime) -> tuple[Application, IssuedKey]:
        """A new key replacing the current one, which stops working when this is stored."""
        key = issue_key()
        rotated = self.evolve(api_key_hash=key.hash, api_key_prefix=key.prefix, api_key_issued_at=at,
                              api_key_revoked_at=None, updated_at=at)
        return rotated, key

    def revoke_key(self, at: datetime) -> Application:
        return self.evolve(api_key_revoked_at=at, updated_at=at)

    def accepts(self, secret: str) -> bool:
        """Whether `secret` is this application's current key (constant-time comparison)."""
        return self.is_active and self.has_key and key_matches(secret, self.api_key_hash)

    def deactivate(self, at: datetime) -> Application:
        return self.evolve(is_active=False, updated_at=at)
