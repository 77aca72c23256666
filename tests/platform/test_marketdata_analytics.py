"""Quotes, candles from trades, and the analytics endpoint whose cost grows with its window."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from platform_helpers import Platform, new_symbol
from tradeplat.simulator import PriceSimulator


async def test_candles_summarise_the_trades(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, seller = await platform.create_account(positions={sym: 1000})
    _, buyer = await platform.create_account()
    for price, qty in [("10.00", 3), ("12.00", 1), ("9.00", 2), ("11.00", 4)]:
        await platform.order(seller, sym, "SELL", qty, price)
        await platform.order(buyer, sym, "BUY", qty, price)
    r = await platform.gateway.get(f"/v1/marketdata/candles/{sym}?interval=5m&limit=5",
                                   headers=buyer)
    assert r.status_code == 200
    candles = r.json()["candles"]
    assert sum(c["volume"] for c in candles) == 10
    if len(candles) == 1:  # all four trades fell in one 5-minute bucket
        (c,) = candles
        assert (c["open"], c["high"], c["low"], c["close"]) == (
            "10.0000", "12.0000", "9.0000", "11.0000")


async def test_quote_is_tick_aligned_and_the_same_in_every_replica(platform: Platform) -> None:
    _, headers = await platform.create_account()
    r = await platform.gateway.get("/v1/marketdata/quotes/AAPL", headers=headers)
    quote = r.json()
    bid, last, ask = (Decimal(quote[k]) for k in ("bid", "last", "ask"))
    assert bid < last < ask
    assert last % Decimal("0.01") == 0
    # Another replica (same seed) computes the same price for the same second.
    second = int(time.time())
    one, two = PriceSimulator(42), PriceSimulator(42)
    ref, tick = Decimal("190"), Decimal("0.01")
    assert one.price("AAPL", ref, tick, second) == two.price("AAPL", ref, tick, second)
    assert one.series("AAPL", ref, tick, second, 50)[-1] == two.price("AAPL", ref, tick, second)
    assert PriceSimulator(7).series("AAPL", ref, tick, second, 50) != one.series(
        "AAPL", ref, tick, second, 50)


async def test_analytics_cost_grows_with_the_window(platform: Platform) -> None:
    _, headers = await platform.create_account()
    small = (await platform.gateway.get("/v1/analytics/risk/MSFT?window=20",
                                        headers=headers)).json()
    large = (await platform.gateway.get("/v1/analytics/risk/MSFT?window=1500",
                                        headers=headers)).json()
    assert small["window"] == 20 and large["window"] == 1500
    for key in ("volatility", "var_95", "sharpe", "max_drawdown", "rolling_volatility_max"):
        assert isinstance(large[key], str)
        Decimal(large[key])
    assert large["compute_ms"] > 10 * small["compute_ms"]


async def test_analytics_sheds_load_instead_of_queueing_without_bound(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradeplat.services.analytics import routes

    monkeypatch.setattr(routes, "MAX_WAITING", 1)
    _, headers = await platform.create_account()
    limiter = routes._capacity(platform.apps["analytics"].state.runtime).limiter
    # Occupy every computation slot, as long-running computations would.
    holders = [object() for _ in range(int(limiter.total_tokens))]
    for holder in holders:
        limiter.acquire_on_behalf_of_nowait(holder)
    try:
        queued = asyncio.create_task(
            platform.gateway.get("/v1/analytics/risk/GOOG?window=50", headers=headers))
        for _ in range(500):
            if limiter.statistics().tasks_waiting == 1:
                break
            await asyncio.sleep(0.01)
        shed = await platform.gateway.get("/v1/analytics/risk/GOOG?window=50", headers=headers)
        assert shed.status_code == 503, shed.text
        assert shed.json()["error"] == "overloaded" and shed.headers["Retry-After"] == "1"
    finally:
        for holder in holders:
            limiter.release_on_behalf_of(holder)
    assert (await queued).status_code == 200  # the queued one is served once slots free up
