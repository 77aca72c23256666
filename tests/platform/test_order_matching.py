"""Matching as a trader sees it through the public API: price-time priority,
partial fills, market orders (IOC) against an empty or thin book, cancels."""

from __future__ import annotations

from platform_helpers import Platform, new_symbol


async def test_best_price_fills_first_then_earliest_at_same_price(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, seller = await platform.create_account(positions={sym: 1000})
    _, buyer = await platform.create_account()
    worse = await platform.order(seller, sym, "SELL", 10, "101.00")
    early = await platform.order(seller, sym, "SELL", 10, "100.00")
    late = await platform.order(seller, sym, "SELL", 10, "100.00")

    taker = await platform.order(buyer, sym, "BUY", 15, "101.00")

    assert taker["status"] == "FILLED" and taker["filled_quantity"] == 15
    assert (await platform.get_order(seller, early["order_id"]))["status"] == "FILLED"
    late_now = await platform.get_order(seller, late["order_id"])
    assert late_now["status"] == "PARTIALLY_FILLED" and late_now["filled_quantity"] == 5
    assert (await platform.get_order(seller, worse["order_id"]))["filled_quantity"] == 0
    fills = (await platform.gateway.get(
        f"/v1/orders/{taker['order_id']}/fills", headers=buyer)).json()["fills"]
    # Trades execute at the resting order's price, best price first.
    assert [(f["price"], f["quantity"]) for f in fills] == [("100.0000", 10), ("100.0000", 5)]


async def test_limit_order_rests_with_its_unfilled_remainder(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, seller = await platform.create_account(positions={sym: 100})
    _, buyer = await platform.create_account()
    await platform.order(seller, sym, "SELL", 4, "50.00")
    bid = await platform.order(buyer, sym, "BUY", 10, "50.00")
    assert bid["status"] == "PARTIALLY_FILLED" and bid["filled_quantity"] == 4
    # The remainder rests and fills against the next seller.
    hit = await platform.order(seller, sym, "SELL", 6, "49.00")
    assert hit["status"] == "FILLED"
    assert (await platform.get_order(buyer, bid["order_id"]))["status"] == "FILLED"


async def test_non_crossing_orders_do_not_trade(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, seller = await platform.create_account(positions={sym: 100})
    _, buyer = await platform.create_account()
    ask = await platform.order(seller, sym, "SELL", 5, "100.01")
    bid = await platform.order(buyer, sym, "BUY", 5, "100.00")
    assert ask["status"] == bid["status"] == "NEW"


async def test_market_order_against_empty_book_is_canceled_unfilled(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, buyer = await platform.create_account()
    market = await platform.order(buyer, sym, "BUY", 10)
    assert market["status"] == "CANCELED"
    assert market["filled_quantity"] == 0
    assert market["price"] is None


async def test_market_order_fills_what_the_book_offers_and_cancels_the_rest(
    platform: Platform,
) -> None:
    sym = await new_symbol(platform.dsn)
    _, seller = await platform.create_account(positions={sym: 100})
    _, buyer = await platform.create_account()
    await platform.order(seller, sym, "SELL", 3, "100.00")
    await platform.order(seller, sym, "SELL", 3, "102.00")
    market = await platform.order(buyer, sym, "BUY", 10)
    assert market["status"] == "CANCELED" and market["filled_quantity"] == 6
    # Nothing of the market order rests: a later seller finds no bid.
    later = await platform.order(seller, sym, "SELL", 1, "1.00")
    assert later["status"] == "NEW"


async def test_market_order_does_not_trade_beyond_its_protection_price(
    platform: Platform,
) -> None:
    sym = await new_symbol(platform.dsn)  # last price 100.00; collar 10 %
    _, seller = await platform.create_account(positions={sym: 100})
    _, buyer = await platform.create_account()
    near = await platform.order(seller, sym, "SELL", 2, "101.00")
    far = await platform.order(seller, sym, "SELL", 5, "1000.00")
    market = await platform.order(buyer, sym, "BUY", 10)
    assert market["status"] == "CANCELED" and market["filled_quantity"] == 2
    assert (await platform.get_order(seller, near["order_id"]))["status"] == "FILLED"
    assert (await platform.get_order(seller, far["order_id"]))["filled_quantity"] == 0
    # The same on the sell side: a far-away bid is not hit.
    low = await platform.order(buyer, sym, "BUY", 5, "1.00")
    sell = await platform.order(seller, sym, "SELL", 5)
    assert sell["status"] == "CANCELED" and sell["filled_quantity"] == 0
    assert (await platform.get_order(buyer, low["order_id"]))["status"] == "NEW"


async def test_sell_market_order_hits_highest_bid_first(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, seller = await platform.create_account(positions={sym: 100})
    _, buyer = await platform.create_account()
    low = await platform.order(buyer, sym, "BUY", 5, "99.00")
    high = await platform.order(buyer, sym, "BUY", 5, "99.50")
    market = await platform.order(seller, sym, "SELL", 5)
    assert market["status"] == "FILLED"
    assert (await platform.get_order(buyer, high["order_id"]))["status"] == "FILLED"
    assert (await platform.get_order(buyer, low["order_id"]))["status"] == "NEW"


async def test_cancel_open_order_then_cancel_again_is_a_conflict(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, buyer = await platform.create_account()
    bid = await platform.order(buyer, sym, "BUY", 5, "10.00")
    r = await platform.gateway.delete(f"/v1/orders/{bid['order_id']}", headers=buyer)
    assert r.status_code == 200 and r.json()["status"] == "CANCELED"
    again = await platform.gateway.delete(f"/v1/orders/{bid['order_id']}", headers=buyer)
    assert again.status_code == 409 and again.json()["status"] == "CANCELED"
    # A canceled order no longer trades.
    _, seller = await platform.create_account(positions={sym: 10})
    assert (await platform.order(seller, sym, "SELL", 5, "10.00"))["status"] == "NEW"


async def test_listing_filters_and_orders_newest_first(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, buyer = await platform.create_account()
    first = await platform.order(buyer, sym, "BUY", 1, "1.00")
    second = await platform.order(buyer, sym, "BUY", 1, "1.01")
    r = await platform.gateway.get(f"/v1/orders?symbol={sym}&status=NEW&limit=10",
                                   headers=buyer)
    assert [o["order_id"] for o in r.json()["orders"]] == [second["order_id"], first["order_id"]]
    r = await platform.gateway.get(f"/v1/orders?symbol={sym}&limit=1", headers=buyer)
    assert len(r.json()["orders"]) == 1
