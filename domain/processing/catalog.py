"""The processor catalog lives in code: each processor declares its name, default CONFIG, when it
should run and how its executions' outputs consolidate into factors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from domain.shared.errors import NotFound


class ProcessorDefinition(ABC):
    name: ClassVar[str]
    """The identifier stored everywhere, such as `p_bank_statement`."""
    display_name: ClassVar[str]
    CONFIG: ClassVar[Mapping[str, Any]] = {}
    """The system default configuration; tenants and underwritings override it."""

    def should_execute(self, payload: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
        """Whether an auto-execution with this payload and effective config is worth running."""
        return True

    @abstractmethod
    def consolidate(self, outputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Factors from the outputs of the active executions (oldest first)."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    name: str
    display_name: str
    config: Mapping[str, Any]


class ProcessorCatalog:
    def __init__(self, definitions: Iterable[ProcessorDefinition] = ()) -> None:
        self._definitions: dict[str, ProcessorDefinition] = {}
        for definition in definitions:
            self.register(definition)

    def register(self, definition: ProcessorDefinition) -> None:
        self._definitions[definition.name] = definition

    def get(self, name: str) -> ProcessorDefinition:
        try:
            return self._definitions[name]
        except KeyError:
            raise NotFound("Processor", name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._definitions

    def entries(self) -> list[CatalogEntry]:
        return [CatalogEntry(d.name, d.display_name, dict(d.CONFIG)) for d in
                sorted(self._definitions.values(), key=lambda d: d.name)]
