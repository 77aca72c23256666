"""Amounts are taken only in their documented form, never normalised.

Prices, cash and notional limits are a JSON string of plain ASCII digits with an
optional fraction of at most 4 digits, or a JSON integer; quantities are JSON
integers (``7.0`` is one, as JSON Schema counts it). Anything else is a 422
naming the field, and nothing is created.
"""

from __future__ import annotations

import uuid

import pytest
from platform_helpers import ADMIN_KEY, Platform, new_symbol

LOOSE_AMOUNTS = [
    "1_000",  # underscores (Python's int() takes them)
    "\uff11.\uff10\uff10",  # full-width digits (Decimal() takes them)
    "\u0661\u0662",  # Arabic-Indic digits
    "1e3",
    "1E3",
    " 1.00",
    "1.00 ",
    "\t1.00",
    "+1.00",
    "-1.00",
    "1.",
    ".5",
    "0x10",
    "NaN",
    "Infinity",
    "",
    "1,00",
    "1.0.0",
    "1.00000",  # five places, even of zeros
    "１",
    1.5,
    True,
    [1],
    {"amount": "1"},
]


def _name(value: object) -> str:
    return repr(value)


@pytest.mark.parametrize("price", LOOSE_AMOUNTS, ids=_name)
async def test_a_loose_price_is_422_naming_price(platform: Platform, price: object) -> None:
    account, headers = await platform.create_account()
    body = {"client_order_id": uuid.uuid4().hex, "symbol": "AAPL", "side": "BUY",
            "type": "LIMIT", "quantity": 1, "price": price}
    r = await platform.gateway.post("/v1/orders", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "price"
    listed = await platform.gateway.get("/v1/orders", headers=headers)
    assert listed.json()["orders"] == []


@pytest.mark.parametrize("cash", LOOSE_AMOUNTS, ids=_name)
async def test_loose_cash_is_422_naming_cash(platform: Platform, cash: object) -> None:
    r = await platform.gateway.post(
        "/v1/admin/accounts", headers={"X-Admin-Key": ADMIN_KEY},
        json={"name": f"loose-{uuid.uuid4().hex[:8]}", "cash": cash})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "cash"


@pytest.mark.parametrize("notional", ["1_000", "1e6", " 5", "+5", "\uff15"], ids=_name)
async def test_a_loose_notional_limit_is_422_naming_it(platform: Platform, notional: str) -> None:
    r = await platform.gateway.post(
        "/v1/admin/accounts", headers={"X-Admin-Key": ADMIN_KEY},
        json={"name": "limits", "cash": "10", "max_order_notional": notional})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "max_order_notional"


@pytest.mark.parametrize("quantity", ["1", "1_0", 1.5, "１", True, 1e-3, [1]], ids=_name)
async def test_a_quantity_is_a_json_integer_only(platform: Platform, quantity: object) -> None:
    _, headers = await platform.create_account()
    body = {"client_order_id": uuid.uuid4().hex, "symbol": "AAPL", "side": "BUY",
            "type": "LIMIT", "quantity": quantity, "price": "1.00"}
    r = await platform.gateway.post("/v1/orders", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "quantity"


@pytest.mark.parametrize(("sent", "stored"), [("101.25", "101.2500"), ("7", "7.0000"),
                                              (7, "7.0000"), ("0007.50", "7.5000"),
                                              # a JSON number without a fraction is an
                                              # integer (JSON Schema's view): exact
                                              (7.0, "7.0000")])
async def test_documented_forms_are_accepted(platform: Platform, sent: object,
                                             stored: str) -> None:
    _, headers = await platform.create_account()
    symbol = await new_symbol(platform.dsn)  # an empty book: the BUY rests at its price
    body = {"client_order_id": uuid.uuid4().hex, "symbol": symbol, "side": "BUY",
            "type": "LIMIT", "quantity": 1, "price": sent}
    r = await platform.gateway.post("/v1/orders", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["price"] == stored
    r = await platform.gateway.post(
        "/v1/admin/accounts", headers={"X-Admin-Key": ADMIN_KEY},
        json={"name": "exact", "cash": sent})
    assert r.status_code == 201, r.text
    portfolio = await platform.gateway.get(
        "/v1/portfolio", headers={"X-API-Key": r.json()["api_key"]})
    assert portfolio.json()["cash"] == stored
