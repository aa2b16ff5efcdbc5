"""Jobs (specs 002 and 004): a job queue's records, their leases and retries, and parallel
processing split into chunk tasks."""
