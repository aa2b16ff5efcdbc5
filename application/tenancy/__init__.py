"""Tenancy use cases."""
