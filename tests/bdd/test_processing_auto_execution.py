"""Scenarios of features/processing/auto_execution.feature:
running the automatic processors of an underwriting. The steps are shared (processing_steps.py)."""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("processing/auto_execution.feature")
