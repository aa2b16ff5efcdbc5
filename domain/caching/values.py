"""What may be cached: JSON data or pydantic models, never pickle.

A value is encoded once, when it is written: the JSON text goes to Redis and the SQL tier, and the
decoded form of that same text (a model becomes its JSON object, a tuple a list) is what the memory
tier hands out, so every tier answers the same value for the same write.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from domain.shared.checks import json_value
from domain.shared.errors import ValidationError


def encode(value: Any, field: str = "value") -> tuple[str, Any]:
    """`(json_text, decoded)` for `value`; `ValidationError(field)` for what JSON cannot hold the
    same way on every tier (sets, bytes, objects, NaN, integers beyond 64 bits, NUL...)."""
    if value is None:
        raise ValidationError(field, "None cannot be cached: get() answers None for a missing key")
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    if isinstance(data, tuple):
        data = list(data)
    try:
        json_value(_lists(data), field)
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        if isinstance(error, ValidationError):
            raise
        raise ValidationError(field, f"is not JSON-serializable: {error}") from None
    return text, json.loads(text)


def _lists(data: Any) -> Any:
    """Tuples are JSON arrays; the checker wants lists, so nested tuples are turned into lists
    only when present (the common value has none and is returned as is)."""
    if isinstance(data, dict):
        if any(isinstance(item, tuple | dict | list) for item in data.values()):
            return {key: _lists(item) for key, item in data.items()}
        return data
    if isinstance(data, list | tuple):
        return [_lists(item) for item in data]
    return data


def decode(text: str | bytes) -> Any:
    return json.loads(text)
