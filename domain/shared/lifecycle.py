"""Explicit transition tables: an illegal move raises `InvalidTransition` naming from and to."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from domain.shared.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)


class TransitionTable(Generic[S]):
    def __init__(self, entity: str, moves: Mapping[S, frozenset[S]]) -> None:
        self.entity = entity
        self.moves = moves

    def allows(self, from_state: S, to_state: S) -> bool:
        return to_state in self.moves.get(from_state, frozenset())

    def check(self, from_state: S, to_state: S) -> S:
        if not self.allows(from_state, to_state):
            raise InvalidTransition(self.entity, from_state.value, to_state.value)
        return to_state

    def is_final(self, state: S) -> bool:
        return not self.moves.get(state)
