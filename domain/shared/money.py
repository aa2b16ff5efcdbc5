"""Money is an integer count of cents: no float ever carries an amount."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.shared.errors import ValidationError


class Money(BaseModel):
    """An amount in the smallest unit of a currency (cents), with its ISO 4217 code."""

    model_config = ConfigDict(frozen=True, strict=True)

    cents: int
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(cents=self.cents + other.cents, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(cents=self.cents - other.cents, currency=self.currency)

    def times(self, quantity: int) -> Money:
        return Money(cents=self.cents * quantity, currency=self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValidationError("currency", f"cannot combine {self.currency} and {other.currency}")

    def __str__(self) -> str:
        sign = "-" if self.cents < 0 else ""
        whole, cents = divmod(abs(self.cents), 100)
        return f"{sign}{whole}.{cents:02d} {self.currency}"
