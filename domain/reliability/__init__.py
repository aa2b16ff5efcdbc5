"""The workflow-reliability context (spec 001): workflows, vendors and their circuit breakers, the
append-only event log, incidents, automated decisions, remediation actions and kill switches."""
