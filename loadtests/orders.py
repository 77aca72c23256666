"""Order intents: what a trader submits, drawn from a seeded random generator.

Prices are ``Decimal`` quantised to the symbol's tick (4 decimals on the wire);
quantities are integers. Client order ids are unique per process and run:
``<run_id>-<process token>-<n>`` (at most 64 characters, as the API allows).
"""

from __future__ import annotations

import functools
import itertools
import random
import secrets
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from json.encoder import encode_basestring_ascii as _quote  # C: what json.dumps writes
from typing import Any

PRICE_PLACES = Decimal("0.0001")
DEFAULT_SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA")


@dataclass(frozen=True)
class SymbolInfo:
    symbol: str
    reference_price: Decimal
    tick_size: Decimal = Decimal("0.01")
    trading_halted: bool = False
    band: float = 0.005  # limit prices stay within this fraction of the reference
    ladder: tuple[Decimal, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # every price on the tick within the band: drawing one is a list index, not Decimal math
        lo = limit_price_at(self, -self.band)
        hi = limit_price_at(self, self.band)
        steps = int((hi - lo) / self.tick_size)
        prices = tuple((lo + i * self.tick_size).quantize(PRICE_PLACES) for i in range(steps + 1))
        object.__setattr__(self, "ladder", prices or (lo,))

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> SymbolInfo:
        return cls(
            symbol=str(item["symbol"]),
            reference_price=Decimal(str(item["reference_price"])),
            tick_size=Decimal(str(item.get("tick_size") or "0.01")),
            trading_halted=bool(item.get("trading_halted", False)),
        )


@functools.cache
def fallback_symbols() -> list[SymbolInfo]:
    """Used until the symbols endpoint answers: the default symbols at 100.00."""
    return [SymbolInfo(s, Decimal("100.00")) for s in DEFAULT_SYMBOLS]


class ClientOrderIds:
    """Unique client order ids for one load process."""

    def __init__(self, run_id: str, token: str | None = None) -> None:
        self.prefix = f"{run_id}-{token or secrets.token_hex(4)}-"
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}{next(self._counter)}"


@dataclass(slots=True)
class OrderIntent:
    client_order_id: str
    account_id: str
    symbol: str
    side: str
    type: str
    quantity: int
    price: Decimal | None

    def body(self) -> dict[str, Any]:
        """The ``POST /v1/orders`` body."""
        body: dict[str, Any] = {
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "quantity": self.quantity,
        }
        if self.price is not None:
            body["price"] = str(self.price)
        return body

    def encoded(self) -> tuple[str, str]:
        """``(body, fields)``: the ``POST /v1/orders`` body as JSON text, and the journal's
        fields of the intent (the members of :meth:`record` as JSON, without the braces).

        Formatted directly (strings escaped by json's own C routine, numbers as ``json``
        writes them): the same text as encoding :meth:`body` and :meth:`record`, at a
        fraction of the cost of three ``JSONEncoder`` passes per order.
        """
        coid = _quote(self.client_order_id)
        common = (
            f'"symbol":{_quote(self.symbol)},"side":{_quote(self.side)},'
            f'"type":{_quote(self.type)},"quantity":{int(self.quantity)!r}'
        )
        if self.price is None:
            return (
                f'{{"client_order_id":{coid},{common}}}',
                f'"client_order_id":{coid},"account_id":{_quote(self.account_id)},'
                f'{common},"price":null',
            )
        price = _quote(str(self.price))
        return (
            f'{{"client_order_id":{coid},{common},"price":{price}}}',
            f'"client_order_id":{coid},"account_id":{_quote(self.account_id)},'
            f'{common},"price":{price}',
        )

    def record(self) -> dict[str, Any]:
        """The journal's view of the intent."""
        return {
            "client_order_id": self.client_order_id,
            "account_id": self.account_id,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "quantity": self.quantity,
            "price": None if self.price is None else str(self.price),
        }


def limit_price_at(info: SymbolInfo, offset: float) -> Decimal:
    """The reference moved by ``offset`` (a fraction), on the tick, never below one tick."""
    raw = info.reference_price * (1 + Decimal(str(round(offset, 6))))
    ticks = (raw / info.tick_size).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(ticks * info.tick_size, info.tick_size).quantize(PRICE_PLACES)


def limit_price(rng: random.Random, info: SymbolInfo) -> Decimal:
    """A price on the tick within the symbol's band around the reference, uniformly drawn."""
    ladder = info.ladder
    return ladder[int(rng.random() * len(ladder))]


def draw_intent(
    rng: random.Random,
    symbols: list[SymbolInfo],
    account_id: str,
    ids: ClientOrderIds,
    *,
    market_share: float = 0.2,
    max_quantity: int = 50,
) -> OrderIntent:
    """One order: a symbol, a side, LIMIT (near the reference price) or MARKET, 1..max shares."""
    info = rng.choice(symbols)
    side = "BUY" if rng.random() < 0.5 else "SELL"
    is_market = rng.random() < market_share
    quantity = 1 + int(rng.random() * max_quantity)
    return OrderIntent(
        client_order_id=ids.next(),
        account_id=account_id,
        symbol=info.symbol,
        side=side,
        type="MARKET" if is_market else "LIMIT",
        quantity=quantity,
        price=None if is_market else limit_price(rng, info),
    )
