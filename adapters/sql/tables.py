"""Every table of the SQL adapter, imported so that the metadata is complete."""

from adapters.sql.cache import cache_entries
from adapters.sql.control_plane import applications, audit_logs, inference_requests, policies, users
from adapters.sql.jobs import chunk_tasks, processing_jobs, processing_tasks
from adapters.sql.metadata import metadata
from adapters.sql.metrics import metrics
from adapters.sql.processing import processor_executions, purchased_processors, underwriting_processors
from adapters.sql.rate_limit import rate_limit_counters
from adapters.sql.reliability import actions, decisions, events, incidents, kill_switches, vendors, workflows
from adapters.sql.tenancy import tenants

__all__ = [
    "actions",
    "applications",
    "audit_logs",
    "cache_entries",
    "chunk_tasks",
    "decisions",
    "events",
    "incidents",
    "inference_requests",
    "kill_switches",
    "metadata",
    "metrics",
    "policies",
    "processing_jobs",
    "processing_tasks",
    "processor_executions",
    "purchased_processors",
    "rate_limit_counters",
    "tenants",
    "underwriting_processors",
    "users",
    "vendors",
    "workflows",
]
