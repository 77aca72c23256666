"""Pydantic models of the public API and of the internal calls between services.

Prices and cash are ``Decimal`` and travel as JSON strings (``"101.2500"``);
quantities are JSON integers. An amount sent by a client is a JSON string of
plain ASCII digits with an optional fraction (``"101.25"``, ``"7"``) or a JSON
integer; anything else (a float, which may already have lost the value the client
meant, underscores, exponents, signs, spaces, non-ASCII digits) is a 422 naming
the field, never normalised.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from tradeplat.money import money_str

MAX_QUANTITY = 1_000_000_000
MAX_PRICE = Decimal("10000000000")  # 1e10: numeric(18,4) holds < 1e14
MAX_CASH = Decimal("1000000000000000")  # 1e15


#: The one accepted text form of an amount: ASCII digits, optionally a point and 1 to 4
#: digits (the platform's precision: 4 places).
DECIMAL_PATTERN = r"^[0-9]+(\.[0-9]{1,4})?$"
#: The same, for an amount > 0 and < 1e10 (a price, a notional limit): the schema's form
#: of the bounds the server checks, so a client generated from it sends nothing refused.
POSITIVE_PATTERN = (r"^0*[1-9][0-9]{0,9}(\.[0-9]{1,4})?$"
                    r"|^0+\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9])$")
#: The same, for an amount >= 0 and < 1e15 (cash).
CASH_PATTERN = r"^0*[0-9]{1,15}(\.[0-9]{1,4})?$"
_PLAIN_DECIMAL = re.compile(DECIMAL_PATTERN, re.ASCII)


def plain_decimal(value: Any) -> Any:
    """An amount as a client sends it: a plain ASCII decimal string or a JSON integer."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return Decimal(int(value))  # a JSON number without a fraction: an integer, exactly
    if isinstance(value, bool) or isinstance(value, float):
        raise PydanticCustomError(
            "decimal_string", "must be a JSON string holding a decimal (e.g. \"101.25\"), "
            "not a {kind}", {"kind": type(value).__name__},
        )
    if isinstance(value, int) or isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        if len(value) > 40 or not _PLAIN_DECIMAL.fullmatch(value):
            raise PydanticCustomError(
                "decimal_string",
                "must be a plain decimal: ASCII digits with an optional fraction of at most "
                "4 places (e.g. \"101.25\"); no sign, exponent, underscore or space",
            )
        return Decimal(value)
    raise PydanticCustomError("decimal_string", "must be a JSON string holding a decimal")


def _amount_schema(pattern: str, minimum: int, maximum: int, description: str
                   ) -> WithJsonSchema:
    return WithJsonSchema({
        "anyOf": [
            {"type": "string", "pattern": pattern, "maxLength": 40},
            {"type": "integer", "minimum": minimum, "maximum": maximum},
        ],
        "description": description,
    })


#: A price as sent by a client: a positive decimal below 1e10 with at most 4 places.
Price = Annotated[
    Decimal,
    BeforeValidator(plain_decimal),
    Field(gt=0, lt=MAX_PRICE, decimal_places=4, allow_inf_nan=False),
    PlainSerializer(money_str, return_type=str, when_used="json"),
    _amount_schema(POSITIVE_PATTERN, 1, int(MAX_PRICE) - 1,
                   f"a decimal > 0 and < {MAX_PRICE}, at most 4 places (\"101.25\"); an order's "
                   "price is also a multiple of its symbol's tick size"),
]
#: An amount of cash as answered by the platform (4 decimals, JSON string).
Money = Annotated[Decimal, PlainSerializer(money_str, return_type=str, when_used="json")]
def whole_number(value: Any) -> Any:
    """A JSON integer. A JSON number without a fraction (``5.0``) is one too, as JSON
    Schema (and so the OpenAPI document) counts it; a string, a boolean or a fraction
    is not."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_QUANTITY), BeforeValidator(whole_number)]
SymbolName = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9.]{0,15}$")]
#: Printable text without control characters (PostgreSQL text cannot hold NUL).
ClientOrderId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
#: A client order id sent as the ``Idempotency-Key`` header: printable ASCII only,
#: since HTTP header values outside ASCII do not survive the hop to ``orders``.
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x20-\x7e]+$")]
AccountId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"


OPEN_STATUSES = (OrderStatus.NEW.value, OrderStatus.PARTIALLY_FILLED.value)
FINAL_STATUSES = frozenset({"FILLED", "CANCELED", "REJECTED"})


def _new_order_schema(schema: dict[str, Any]) -> None:
    """The document's form of a new order: a LIMIT order with its price, or a MARKET
    order without one; ``client_order_id`` required (the legacy ``Idempotency-Key``
    header that may stand for it is not part of the OpenAPI document)."""
    props = schema["properties"]
    common = {
        "client_order_id": {
            "type": "string", "minLength": 1, "maxLength": 64,
            "pattern": r"^[^\x00-\x1f\x7f]+$",
            "description": "unique per account: a resubmission answers the original order",
        },
        "symbol": props["symbol"], "side": props["side"], "quantity": props["quantity"],
    }
    price = next(branch for branch in props["price"]["anyOf"] if branch.get("type") != "null")
    required = ["client_order_id", "symbol", "side", "type", "quantity"]
    schema.clear()
    schema.update({
        "title": "NewOrder",
        "description": "A LIMIT order (with its price) or a MARKET order (without one)",
        "oneOf": [
            {"title": "LimitOrder", "type": "object", "additionalProperties": False,
             "properties": {**common, "type": {"const": "LIMIT"}, "price": price},
             "required": [*required, "price"]},
            {"title": "MarketOrder", "type": "object", "additionalProperties": False,
             "properties": {**common, "type": {"const": "MARKET"}, "price": {"type": "null"}},
             "required": required},
        ],
    })


class NewOrder(BaseModel):
    """``POST /v1/orders`` body. ``price`` is required for LIMIT, refused for MARKET."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_new_order_schema)

    client_order_id: ClientOrderId | None = Field(
        default=None, description="Unique per account; the Idempotency-Key header when absent"
    )
    symbol: SymbolName
    side: Side
    type: OrderType
    quantity: Quantity
    price: Price | None = None


class Order(BaseModel):
    order_id: UUID
    client_order_id: str
    account_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: int
    price: Money | None
    filled_quantity: int
    status: OrderStatus
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime


class OrderList(BaseModel):
    orders: list[Order]


class Fill(BaseModel):
    fill_id: UUID
    trade_id: UUID
    order_id: UUID
    symbol: str
    side: Side
    price: Money
    quantity: int
    executed_at: datetime


class FillList(BaseModel):
    fills: list[Fill]


class RiskCheck(BaseModel):
    """orders → risk: the order to check, for ``account_id``."""

    model_config = ConfigDict(extra="forbid")

    account_id: AccountId
    symbol: SymbolName
    side: Side
    type: OrderType
    quantity: Quantity
    price: Price | None = None


class RiskVerdict(BaseModel):
    allowed: bool
    reason: str | None = None
    detail: str | None = None
    #: For an allowed MARKET order: the worst price it may trade at (last price
    #: ± the collar); matching takes no liquidity beyond it.
    protection_price: Money | None = None


class HaltSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    halted: Annotated[bool, Field(strict=True)]


class Position(BaseModel):
    symbol: str
    quantity: int


class Portfolio(BaseModel):
    account_id: str
    cash: Money
    positions: list[Position]
    pending_trades: int


class LedgerEntry(BaseModel):
    entry_id: int
    journal_id: UUID
    kind: str
    trade_id: UUID | None
    asset: str
    amount: Money
    created_at: datetime


class LedgerPage(BaseModel):
    entries: list[LedgerEntry]


class SymbolInfo(BaseModel):
    symbol: str
    reference_price: Money
    tick_size: Money
    trading_halted: bool


class SymbolList(BaseModel):
    symbols: list[SymbolInfo]


class Quote(BaseModel):
    symbol: str
    bid: Money
    ask: Money
    last: Money
    ts: datetime


class Candle(BaseModel):
    ts: datetime
    open: Money
    high: Money
    low: Money
    close: Money
    volume: int


class CandleSeries(BaseModel):
    symbol: str
    interval: str
    candles: list[Candle]


class RiskMetrics(BaseModel):
    symbol: str
    window: int
    volatility: str = Field(description="standard deviation of per-second log returns")
    annualized_volatility: str
    var_95: str = Field(description="one-period 95% historical value at risk, as a fraction")
    expected_shortfall_95: str
    sharpe: str
    max_drawdown: str = Field(description="largest peak-to-trough fall, as a fraction")
    rolling_volatility_max: str
    last_price: Money
    compute_ms: float


class NewAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
    cash: Annotated[
        Decimal,
        BeforeValidator(plain_decimal),
        Field(ge=0, lt=MAX_CASH, decimal_places=4, allow_inf_nan=False),
        _amount_schema(CASH_PATTERN, 0, int(MAX_CASH) - 1,
                       f"a decimal >= 0 and < {MAX_CASH}, at most 4 places (\"1000.00\")"),
    ] = Decimal(0)
    positions: dict[SymbolName, Annotated[
        int, Field(strict=True, ge=0, le=MAX_QUANTITY), BeforeValidator(whole_number)]] = Field(
        default_factory=dict, json_schema_extra={"additionalProperties": False}
    )
    max_order_notional: Price | None = None
    max_position: Quantity | None = None
    max_orders_per_second: Annotated[
        int, Field(strict=True, gt=0, le=100_000), BeforeValidator(whole_number)] | None = None


class CreatedAccountOut(BaseModel):
    account_id: str
    api_key: str


class ErrorBody(BaseModel):
    """Every error answer: a stable code, a text, and the field to blame when one is."""

    error: str
    detail: str
    field: str | None = None


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ValidationErrorBody(ErrorBody):
    """A 422: the first problem in ``field``/``detail``, every problem in ``errors``."""

    errors: list[FieldError] = Field(default_factory=list)
