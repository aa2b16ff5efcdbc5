"""Processing use cases (spec 000's six usage patterns)."""
