"""Steps: tests/bdd/caching_steps.py (features/caching/expiry.feature)."""

from pytest_bdd import scenarios

from tests.bdd.caching_steps import *  # noqa: F403 - the caching steps and their world

scenarios("caching/expiry.feature")
