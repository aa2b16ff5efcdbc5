"""Scenarios of features/processing/deduplication.feature:
submitting a payload once. The steps are shared (processing_steps.py)."""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("processing/deduplication.feature")
