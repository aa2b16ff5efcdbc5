"""Where the container takes its processor catalog: the caller's, `PORTSIDE_PROCESSOR_CATALOG`, or
the example processors Portside ships."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from domain.processing.catalog import BaseProcessor, ProcessorCatalog
from domain.processing.processors import default_catalog
from domain.shared.errors import ValidationError

SETTING = "processor_catalog"


def as_catalog(value: Any, origin: str = SETTING) -> ProcessorCatalog:
    """A `ProcessorCatalog`, a processor class, or an iterable of processor classes (or instances)."""
    if isinstance(value, ProcessorCatalog):
        return value
    if isinstance(value, type) and issubclass(value, BaseProcessor):
        return ProcessorCatalog([value])
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return ProcessorCatalog(value)
    raise ValidationError(origin, f"expected a ProcessorCatalog or processor classes, got {type(value).__name__}")


def load_catalog(reference: str | None) -> ProcessorCatalog:
    """`module:attribute` naming a catalog, processor classes, or a function returning either; the
    shipped example processors when None."""
    if reference is None:
        return default_catalog()
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValidationError(SETTING, f"expected 'module:attribute', got {reference!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValidationError(SETTING, f"cannot import {module_name!r}: {error}") from None
    found = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValidationError(SETTING, f"{module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    if callable(found) and not isinstance(found, type) and not isinstance(found, ProcessorCatalog):
        found = found()
    return as_catalog(found)
