"""Decimal money helpers: prices and cash have 4 decimals; quantities are ints."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

CASH_ASSET = "USD"
EXTERNAL_ACCOUNT = "EXTERNAL"
FOUR_PLACES = Decimal("0.0001")


def quantize(value: Decimal) -> Decimal:
    return value.quantize(FOUR_PLACES, rounding=ROUND_HALF_EVEN)


def money_str(value: Decimal | None) -> str | None:
    """The JSON form of an amount: a string with 4 decimals (``"101.2500"``)."""
    return None if value is None else str(quantize(value))
