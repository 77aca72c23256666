"""Ledger conservation: whatever is traded, every asset nets to zero over all
accounts (EXTERNAL included), every journal balances, and balances equal the
ledger. Property-based: hypothesis draws the order flow, the real platform
(processes) executes it, the relay posts it."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from platform_helpers import LivePlatform, db_query, wait_until
from tradeplat.services.portfolio.ledger import trade_legs

SYMBOL = "TSLA"

order_flow = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # which trader
        st.sampled_from(["BUY", "SELL"]),
        st.integers(min_value=1, max_value=30),  # quantity
        st.one_of(st.none(), st.sampled_from(["239.98", "239.99", "240.00", "240.01"])),
    ),
    min_size=1,
    max_size=12,
)


def _conservation_violations(dsn: str) -> dict[str, list[object]]:
    return {
        "asset_sum": [dict(r) for r in db_query(
            dsn, "SELECT asset, sum(amount) AS total FROM ledger_entries GROUP BY asset "
            "HAVING sum(amount) <> 0")],
        "journal_sum": [dict(r) for r in db_query(
            dsn, "SELECT journal_id, asset FROM ledger_entries GROUP BY journal_id, asset "
            "HAVING sum(amount) <> 0")],
        "balance_vs_ledger": [dict(r) for r in db_query(dsn, """
            SELECT account_id, asset FROM balances b
            FULL JOIN (SELECT account_id, asset, sum(amount) AS total FROM ledger_entries
                       GROUP BY 1, 2) l USING (account_id, asset)
            WHERE COALESCE(b.amount, 0) <> COALESCE(l.total, 0)""")],
        "trade_posted_once": [dict(r) for r in db_query(dsn, """
            SELECT t.trade_id FROM trades t
            LEFT JOIN ledger_entries e ON e.trade_id = t.trade_id
            GROUP BY t.trade_id HAVING count(e.entry_id) = 0""")],
    }


def test_every_asset_nets_to_zero_whatever_is_traded(live: LivePlatform) -> None:
    traders = [live.create_account(cash="10000000", positions={SYMBOL: 10_000})
               for _ in range(3)]

    def drained() -> bool:
        return db_query(live.dsn, "SELECT count(*) AS n FROM outbox "
                        "WHERE delivered_at IS NULL")[0]["n"] == 0

    with httpx.Client(base_url=live.gateway_url, timeout=15) as gw:

        @settings(max_examples=10, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(flow=order_flow)
        def run(flow: list[tuple[int, str, int, str | None]]) -> None:
            for who, side, quantity, price in flow:
                body: dict[str, object] = {
                    "client_order_id": uuid.uuid4().hex, "symbol": SYMBOL, "side": side,
                    "type": "LIMIT" if price else "MARKET", "quantity": quantity}
                if price:
                    body["price"] = price
                r = gw.post("/v1/orders", json=body, headers=traders[who].headers)
                assert r.status_code == 201, r.text
            wait_until(drained, 15, "the outbox drains")
            assert _conservation_violations(live.dsn) == {
                "asset_sum": [], "journal_sum": [], "balance_vs_ledger": [],
                "trade_posted_once": []}

        run()
    traded = db_query(live.dsn, "SELECT count(*) AS n FROM trades WHERE symbol = $1", SYMBOL)
    assert traded[0]["n"] > 0, "the drawn flows must have produced trades"


@given(
    price=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e9"), places=4),
    quantity=st.integers(min_value=1, max_value=10**9),
    self_trade=st.booleans(),
)
def test_a_trade_journal_balances_per_asset(price: Decimal, quantity: int,
                                            self_trade: bool) -> None:
    buyer = "acct-a"
    seller = buyer if self_trade else "acct-b"
    event = {"trade_id": str(uuid.uuid4()), "symbol": "X", "price": str(price),
             "quantity": quantity, "buyer_account_id": buyer, "seller_account_id": seller}
    legs = trade_legs(event)
    for asset in ("USD", "X"):
        assert sum(leg[4] for leg in legs if leg[3] == asset) == 0
    # One leg per (account, asset): the unique index can take them all.
    assert len({(leg[2], leg[3]) for leg in legs}) == len(legs)
    if not self_trade:
        cash = {leg[2]: leg[4] for leg in legs if leg[3] == "USD"}
        assert cash[buyer] == -price * quantity
