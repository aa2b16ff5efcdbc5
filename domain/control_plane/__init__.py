"""The control-plane context (spec 003): applications and their API keys, users, policies, the
append-only audit log and inference requests, all owned by an organization, which is the tenancy
context's `Tenant` (one aggregate, not two)."""
