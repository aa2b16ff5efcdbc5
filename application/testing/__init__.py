"""Test support that ships with Portside: the pytest plugin and the contract suites."""
