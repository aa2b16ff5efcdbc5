"""Metric and label names: what Prometheus accepts, checked once for every backend.

Names follow Prometheus' data model (`[a-zA-Z_:][a-zA-Z0-9_:]*` for metrics, `[a-zA-Z_][a-zA-Z0-9_]*`
for labels), so a series that memory or SQL stores could be pushed to Prometheus unchanged. Label
values are any text every backend stores (no NUL, no lone surrogate); the query layers escape them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from domain.shared.checks import clean_text
from domain.shared.errors import ValidationError

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
MAX_NAME_LENGTH = 255
"""The spec's `metric_name VARCHAR(255)`; label names share the bound."""
MAX_LABEL_VALUE_LENGTH = 1024
MAX_LABELS = 32

TENANT_LABEL = "tenant"
"""Every stored series carries its tenant under this label; callers cannot set it."""
BUCKET_LABEL = "le"
"""A histogram bucket's upper bound, as Prometheus names it."""
RESERVED_LABELS = frozenset({TENANT_LABEL, BUCKET_LABEL})

Labels = tuple[tuple[str, str], ...]
"""Labels in canonical form: sorted by name, so equal label sets are equal tuples."""


def metric_name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a metric name, got {type(value).__name__}")
    if len(value) > MAX_NAME_LENGTH or not METRIC_NAME.fullmatch(value):
        raise ValidationError(field, f"{value[:80]!r} is not a metric name: [a-zA-Z_:][a-zA-Z0-9_:]*, "
                                     f"at most {MAX_NAME_LENGTH} characters")
    if value.lower() in ("inf", "nan"):  # PromQL reads these as numbers, in any case
        raise ValidationError(field, f"{value!r} is not a metric name: PromQL reads it as a number")
    return value


def label_name(value: Any, field: str = "labels") -> str:
    if not isinstance(value, str) or len(value) > MAX_NAME_LENGTH or not LABEL_NAME.fullmatch(value):
        shown = value[:80] if isinstance(value, str) else type(value).__name__
        raise ValidationError(field, f"{shown!r} is not a label name: [a-zA-Z_][a-zA-Z0-9_]*")
    if value.startswith("__"):
        raise ValidationError(field, f"label names starting with '__' are Prometheus' own, got {value!r}")
    return value


def label_value(value: Any, field: str = "labels") -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"label values are text, got {type(value).__name__}")
    if not value:
        # Prometheus stores an empty value as no label at all: refused, so every backend agrees.
        raise ValidationError(field, "label values must not be empty (leave the label out instead)")
    if len(value) > MAX_LABEL_VALUE_LENGTH:
        raise ValidationError(field, f"label values are at most {MAX_LABEL_VALUE_LENGTH} characters")
    return clean_text(value, field)


def labels(value: Any, field: str = "labels", *, reserved: frozenset[str] = RESERVED_LABELS) -> Labels:
    """A caller's labels (a mapping, or None for none) in canonical form. `tenant` and `le` are
    reserved: the repository sets the first, histograms the second."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ValidationError(field, f"expected a mapping of label names to values, got {type(value).__name__}")
    if len(value) > MAX_LABELS:
        raise ValidationError(field, f"at most {MAX_LABELS} labels")
    checked = []
    for name, item in value.items():
        checked_name = label_name(name, field)
        if checked_name in reserved:
            raise ValidationError(field, f"the label {checked_name!r} is reserved")
        checked.append((checked_name, label_value(item, field)))
    return tuple(sorted(checked))


def matches(series_labels: Labels, wanted: Labels) -> bool:
    """Whether a series carries every wanted label with its value (extra labels are fine)."""
    present = dict(series_labels)
    return all(present.get(name) == value for name, value in wanted)
