"""In-memory adapters: transactional, thread-safe, and held to the same contract suites as SQL.

They ship for downstream unit tests, so they must behave exactly like the real backends.
"""
