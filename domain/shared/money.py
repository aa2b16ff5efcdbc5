"""Money is an integer count of cents: no float ever carries an amount."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.shared.checks import INT64_MAX, INT64_MIN
from domain.shared.entity import validated
from domain.shared.errors import ValidationError


class Money(BaseModel):
    """An amount in the smallest unit of a currency (cents), with its ISO 4217 code."""

    model_config = ConfigDict(frozen=True, strict=True)

    cents: int = Field(ge=INT64_MIN, le=INT64_MAX)
    """64 bits at most: what BIGINT and INT64 columns hold."""
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")

    @classmethod
    def of(cls, cents: int, currency: str = "USD") -> Money:
        """Validated; bad input (a float, 2**64 cents, a lower-case code) is our `ValidationError`."""
        return validated(cls, {"cents": cents, "currency": currency})

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money.of(self.cents + other.cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money.of(self.cents - other.cents, self.currency)

    def times(self, quantity: int) -> Money:
        # An overflowing product is refused by `of`, naming `cents`, as a stored sum would be.
        return Money.of(self.cents * quantity, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValidationError("currency", f"cannot combine {self.currency} and {other.currency}")

    def __str__(self) -> str:
        sign = "-" if self.cents < 0 else ""
        whole, cents = divmod(abs(self.cents), 100)
        return f"{sign}{whole}.{cents:02d} {self.currency}"
