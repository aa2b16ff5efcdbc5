"""`histogram_quantile` exactly as Prometheus computes it (promql/quantile.go, `bucketQuantile`), so
a percentile answered by memory or SQL equals the one Prometheus answers over the same buckets.

The buckets are cumulative counts by upper bound; the quantile is interpolated linearly inside the
bucket its rank falls in, which is why a percentile is only as precise as that bucket is narrow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def histogram_quantile(quantile: float, buckets: Iterable[tuple[float, float]]) -> float:
    """`buckets`: (upper bound, cumulative count) pairs, in any order, `+Inf` among them. NaN when
    there is no `+Inf` bucket, fewer than two buckets, or no observation."""
    if math.isnan(quantile):
        return math.nan
    if quantile < 0:
        return -math.inf
    if quantile > 1:
        return math.inf
    merged: dict[float, float] = {}
    for bound, count in buckets:  # buckets of one bound (from several series) are summed
        merged[bound] = merged.get(bound, 0.0) + count
    ordered = sorted(merged.items())
    if not ordered or not math.isinf(ordered[-1][0]):
        return math.nan
    # Counts that fall with the bound (a scrape between bucket updates) are raised, as Prometheus does.
    monotonic: list[tuple[float, float]] = []
    highest = -math.inf
    for bound, count in ordered:
        highest = max(highest, count)
        monotonic.append((bound, highest))
    if len(monotonic) < 2:
        return math.nan
    observations = monotonic[-1][1]
    if observations == 0:
        return math.nan
    rank = quantile * observations
    index = next((i for i, (_, count) in enumerate(monotonic[:-1]) if count >= rank), len(monotonic) - 1)
    if index == len(monotonic) - 1:
        return monotonic[-2][0]
    if index == 0 and monotonic[0][0] <= 0:
        return monotonic[0][0]
    bucket_start, below = (0.0, 0.0) if index == 0 else monotonic[index - 1]
    bucket_end, count = monotonic[index]
    return bucket_start + (bucket_end - bucket_start) * ((rank - below) / (count - below))


def parse_bound(text: str) -> float:
    """A bucket's `le` label as a number (`+Inf` included)."""
    return float(text)


def format_bound(bound: float) -> str:
    """How a bucket's bound is written as its `le` label: `0.25`, `1.0`, `+Inf`, as the Python client does."""
    return "+Inf" if math.isinf(bound) else repr(float(bound))
