"""Pydantic models of the public API and of the internal calls between services.

Prices and cash are ``Decimal`` and travel as JSON strings (``"101.2500"``);
quantities are JSON integers. A float price is refused: it may already have
lost the value the client meant.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from tradeplat.money import money_str

MAX_QUANTITY = 1_000_000_000
MAX_PRICE = Decimal("10000000000")  # 1e10: numeric(18,4) holds < 1e14


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("must be a JSON string holding a decimal (e.g. \"101.25\"), not a float")
    if isinstance(value, bool):
        raise ValueError("must be a JSON string holding a decimal")
    return value


#: A price as sent by a client: a positive decimal string with at most 4 places.
Price = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(gt=0, le=MAX_PRICE, decimal_places=4, allow_inf_nan=False),
    PlainSerializer(money_str, return_type=str, when_used="json"),
]
#: An amount of cash as answered by the platform (4 decimals, JSON string).
Money = Annotated[Decimal, PlainSerializer(money_str, return_type=str, when_used="json")]
Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_QUANTITY)]
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


class NewOrder(BaseModel):
    """``POST /v1/orders`` body. ``price`` is required for LIMIT, refused for MARKET."""

    model_config = ConfigDict(extra="forbid")

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
        BeforeValidator(_no_float),
        Field(ge=0, le=Decimal("1e15"), decimal_places=4, allow_inf_nan=False),
    ] = Decimal(0)
    positions: dict[SymbolName, Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)]] = Field(
        default_factory=dict
    )
    max_order_notional: Price | None = None
    max_position: Quantity | None = None
    max_orders_per_second: Annotated[int, Field(strict=True, gt=0, le=100_000)] | None = None


class CreatedAccountOut(BaseModel):
    account_id: str
    api_key: str


class ErrorBody(BaseModel):
    error: str
    detail: str
    field: str | None = None
