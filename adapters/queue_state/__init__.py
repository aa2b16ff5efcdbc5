"""Queue-state stores: in process (memory) and Redis."""
