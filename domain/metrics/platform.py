"""The metrics Portside records about itself (the repository layer's instrumentation)."""

REPOSITORY_OPERATIONS = "portside_repository_operations_total"
"""Counter: calls per `{context, repository, method, outcome}` (`ok` or the error's class name)."""
REPOSITORY_LATENCY = "portside_repository_operation_seconds"
"""Histogram: call durations per `{context, repository, method}`."""
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Seconds: a repository call is a round trip or a few, from half a millisecond up."""
