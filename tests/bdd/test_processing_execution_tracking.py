"""Scenarios of features/processing/execution_tracking.feature:
tracking an execution of a processor. The steps are shared (processing_steps.py)."""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("processing/execution_tracking.feature")
