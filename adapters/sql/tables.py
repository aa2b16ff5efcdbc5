"""Every table of the SQL adapter, imported so that the metadata is complete."""

from adapters.sql.tenancy import tenants

__all__ = ["tenants"]
