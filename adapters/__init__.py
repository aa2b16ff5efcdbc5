"""Adapters implement the ports. Each imports its infrastructure library lazily."""
