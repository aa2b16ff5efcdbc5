"""Scenarios of features/processing/supersession.feature:
superseding an execution with a newer one. The steps are shared (processing_steps.py)."""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("processing/supersession.feature")
