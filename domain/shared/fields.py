"""The kinds of value a queryable field holds: they decide how filters compare and cursors encode."""

from __future__ import annotations

from enum import StrEnum


class FieldKind(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    UUID = "uuid"
