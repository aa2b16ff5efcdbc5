"""The processor catalog lives in code: each processor declares its name, default CONFIG, when it
should run and how its executions' outputs consolidate into factors.

Processors are declared the way spec 000's `BaseProcessor` is: a class with `CONFIG` and class
methods (`ProcessorClass.should_execute(payload, config)`, `ProcessorClass.consolidate(outputs)`,
`ProcessorClass.get_config(up)`), handed to the catalog as classes (instances work too).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from domain.shared.errors import NotFound, ValidationError

if TYPE_CHECKING:
    from domain.processing.subscriptions import UnderwritingProcessor

_NAME = re.compile(r"^p_[a-z0-9_]+$")


class BaseProcessor(ABC):
    name: ClassVar[str]
    """The identifier stored everywhere, such as `p_bank_statement` (`p_` then lower-case words)."""
    display_name: ClassVar[str]
    CONFIG: ClassVar[Mapping[str, Any]] = {}
    """The system default configuration; tenants and underwritings override it."""

    @classmethod
    def should_execute(cls, payload: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
        """Whether an auto-execution with this payload and effective config is worth running."""
        return True

    @classmethod
    @abstractmethod
    def consolidate(cls, outputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Factors from the outputs of the active executions (in the current list's order)."""

    @classmethod
    def get_config(cls, up: UnderwritingProcessor) -> dict[str, Any]:
        """The merged config of an underwriting processor of this processor: its stored effective
        config, which Portside keeps equal to `get_effective_config` (pattern 1)."""
        if up.processor != cls.name:
            raise ValidationError("up", f"is an underwriting processor of {up.processor}, not of {cls.name}")
        return dict(up.effective_config)


ProcessorDefinition = BaseProcessor
"""The name Portside used first; a processor declared on either base is the same thing."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    name: str
    display_name: str
    config: Mapping[str, Any]


class ProcessorCatalog:
    """The processors a deployment knows, by name. A processor unknown to the catalog cannot be
    purchased, attached or executed."""

    def __init__(self, definitions: Iterable[BaseProcessor | type[BaseProcessor]] = ()) -> None:
        self._definitions: dict[str, type[BaseProcessor]] = {}
        for definition in definitions:
            self.register(definition)

    def register(self, definition: BaseProcessor | type[BaseProcessor]) -> None:
        processor = definition if isinstance(definition, type) else type(definition)
        if not issubclass(processor, BaseProcessor):
            raise ValidationError("catalog", f"{processor.__name__} is not a BaseProcessor")
        name = getattr(processor, "name", None)
        if not isinstance(name, str) or not _NAME.match(name) or len(name) > 100:
            raise ValidationError("catalog", f"{processor.__name__}.name must look like 'p_bank_statement', "
                                             f"got {name!r}")
        if not isinstance(getattr(processor, "display_name", None), str):
            raise ValidationError("catalog", f"{processor.__name__}.display_name must be text")
        if not isinstance(processor.CONFIG, Mapping):
            raise ValidationError("catalog", f"{processor.__name__}.CONFIG must be a mapping")
        if getattr(processor.consolidate, "__isabstractmethod__", False):
            raise ValidationError("catalog", f"{processor.__name__} does not define consolidate")
        if name in self._definitions and self._definitions[name] is not processor:
            raise ValidationError("catalog", f"two processors are named {name}")
        self._definitions[name] = processor

    def get(self, name: str) -> type[BaseProcessor]:
        try:
            return self._definitions[name]
        except (KeyError, TypeError):
            raise NotFound("Processor", name) from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._definitions

    def __len__(self) -> int:
        return len(self._definitions)

    def entries(self) -> list[CatalogEntry]:
        return [CatalogEntry(d.name, d.display_name, dict(d.CONFIG)) for d in
                sorted(self._definitions.values(), key=lambda d: d.name)]
