"""Reliability use cases (spec 001)."""
