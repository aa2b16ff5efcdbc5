"""Caching use cases and helpers (spec 004's patterns): cache-aside, write-through, workspace
invalidation, and the record helpers any record-returning loader uses (jobs, once they land)."""
