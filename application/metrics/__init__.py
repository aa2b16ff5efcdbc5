"""Metrics use cases: storing the repositories' own measurements, and reading them back."""
