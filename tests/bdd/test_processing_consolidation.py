"""Scenarios of features/processing/consolidation.feature:
consolidating the factors of a processor in an underwriting. The steps are shared (processing_steps.py)."""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("processing/consolidation.feature")
