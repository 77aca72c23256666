"""An account never reads or trades another account's data."""

from __future__ import annotations

from platform_helpers import Platform, new_symbol


async def test_another_accounts_order_is_not_found(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, alice = await platform.create_account(positions={sym: 10})
    _, bob = await platform.create_account()
    order = await platform.order(alice, sym, "SELL", 5, "10.00")
    oid = order["order_id"]

    for method, path in [("GET", f"/v1/orders/{oid}"), ("DELETE", f"/v1/orders/{oid}"),
                         ("GET", f"/v1/orders/{oid}/fills")]:
        r = await platform.gateway.request(method, path, headers=bob)
        assert r.status_code == 404, (method, path, r.text)
    # Bob's cancel attempt did nothing: the order is still open for Alice.
    assert (await platform.get_order(alice, oid))["status"] == "NEW"
    listed = (await platform.gateway.get("/v1/orders", headers=bob)).json()["orders"]
    assert oid not in {o["order_id"] for o in listed}


async def test_portfolio_and_ledger_show_only_the_callers_account(platform: Platform) -> None:
    alice_id, alice = await platform.create_account(cash="111")
    bob_id, bob = await platform.create_account(cash="222")
    a = (await platform.gateway.get("/v1/portfolio", headers=alice)).json()
    b = (await platform.gateway.get("/v1/portfolio", headers=bob)).json()
    assert (a["account_id"], a["cash"]) == (alice_id, "111.0000")
    assert (b["account_id"], b["cash"]) == (bob_id, "222.0000")
    entries = (await platform.gateway.get("/v1/portfolio/ledger", headers=bob)).json()["entries"]
    assert [(e["kind"], e["asset"], e["amount"]) for e in entries] == [
        ("DEPOSIT", "USD", "222.0000")]


async def test_a_client_cannot_claim_another_account_through_headers(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    alice_id, alice = await platform.create_account(positions={sym: 10})
    _, bob = await platform.create_account()
    order = await platform.order(alice, sym, "SELL", 5, "10.00")
    # X-Account-ID is internal: the gateway sets it from the API key, never from the client.
    r = await platform.gateway.get(f"/v1/orders/{order['order_id']}",
                                   headers={**bob, "X-Account-ID": alice_id})
    assert r.status_code == 404
