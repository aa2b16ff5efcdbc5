"""Effective configuration: catalog default, then tenant config, then underwriting override.

The rule, right side wins:
- a key present on the right replaces the left's value;
- when both values are mappings, they merge by the same rule, key by key (deeply);
- any other value (list, number, string, null) replaces the left's whole, lists included: a list is
  a value, not a set to merge;
- a key absent on the right keeps the left's value. To remove a key, set it to null.
The inputs are never modified.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def merge_config(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            merged = _merge(merged, layer)
    return merged


def _merge(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    result = {key: copy.deepcopy(value) for key, value in left.items()}
    for key, value in right.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
