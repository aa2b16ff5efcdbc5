"""Use cases of the control-plane context (spec 003)."""
