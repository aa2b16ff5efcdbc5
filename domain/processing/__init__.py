"""The processing engine context (spec 000): the processor catalog in code, tenants' subscriptions,
underwriting processors, and executions with deduplication, supersession and activation."""
