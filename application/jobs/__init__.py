"""Jobs use cases: queueing, the worker that runs handlers, and wake-ups."""
