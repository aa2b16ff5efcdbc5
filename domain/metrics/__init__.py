"""Metrics (spec 002): counters, gauges and histograms as time series, and queries over them."""
