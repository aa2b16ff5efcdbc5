"""BigQuery adapters. google-cloud-bigquery is imported lazily (the `bigquery` extra)."""
