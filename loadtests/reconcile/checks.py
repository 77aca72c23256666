"""The reconciliation checks, Jepsen-style (a set checker and a bank checker).

Each check is a pure function of the journals and the database snapshot and
returns a :class:`CheckResult` whose violations name the orders involved.
Check names are part of ``reconcile.json`` (docs/contracts.md §4):

========================================  ====================================================
``acknowledged_orders_exist``             every acknowledged order is in the database, as
                                          submitted (lost or mis-booked otherwise)
``acknowledged_orders_unique``            ...exactly once (one order per client order id)
``no_phantom_orders``                     no order of a load account that was never submitted
``acknowledged_state_consistent``         the stored state can follow from the acknowledged one
                                          (a final status stays, fills never go backwards)
``trades_balanced``                       per trade one BUY and one SELL fill of its quantity
                                          and price; per symbol bought = sold
``orders_not_overfilled``                 no order filled beyond its quantity
``order_status_matches_fills``            filled quantity = sum of fills; status agrees; fills
                                          respect the limit price
``outbox_drained``                        every trade event was delivered within the timeout
``trades_in_outbox``                      every trade has exactly one outbox event
``fills_in_ledger``                       every trade's fills are posted to the ledger
``positions_match_fills``                 every balance = deposits + what the fills imply
``balances_match_ledger``                 every balance = the sum of its ledger postings
``assets_conserved``                      every asset (cash, each symbol) sums to zero over all
                                          accounts incl. EXTERNAL, and every posting nets to 0
========================================  ====================================================
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from loadtests.reconcile.journals import JournalSet
from loadtests.reconcile.result import CheckResult
from loadtests.reconcile.snapshot import OrderRow, Snapshot

FINAL = frozenset({"FILLED", "CANCELED", "REJECTED"})
CASH = "USD"


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _trade_orders(snap: Snapshot, trade_id: str) -> tuple[list[str], list[str]]:
    trade = snap.trades.get(trade_id)
    if trade is None:
        return [], []
    ids = [trade.buy_order_id, trade.sell_order_id]
    return ids, [snap.orders[i].client_order_id for i in ids if i in snap.orders]


def acknowledged_orders_exist(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult("acknowledged_orders_exist", "every acknowledged order exists as submitted")
    for (account, coid), acks in j.acks.items():
        check.checked += 1
        for order_id in sorted({str(a.get("order_id")) for a in acks}):
            ack = next(a for a in acks if str(a.get("order_id")) == order_id)
            row = snap.orders.get(order_id)
            if row is None:
                check.add(
                    f"lost: order {order_id} ({coid}, account {account}) was acknowledged "
                    f"as {ack.get('status')} (HTTP {ack.get('http_status')}) but is not in "
                    "the database",
                    [order_id],
                    [coid],
                )
                continue
            wrong = _mismatches(ack, row)
            if wrong:
                check.add(
                    f"mis-booked: order {order_id} ({coid}) {'; '.join(wrong)}", [order_id], [coid]
                )
    return check


def _mismatches(ack: dict[str, Any], row: OrderRow) -> list[str]:
    submitted: dict[str, Any] = {
        "account_id": ack.get("account_id"),
        "client_order_id": ack.get("client_order_id"),
        "symbol": ack.get("symbol"),
        "side": ack.get("side"),
        "type": ack.get("type"),
        "quantity": ack.get("quantity"),
        "price": _dec(ack.get("price")),
    }
    stored: dict[str, Any] = {
        "account_id": row.account_id,
        "client_order_id": row.client_order_id,
        "symbol": row.symbol,
        "side": row.side,
        "type": row.type,
        "quantity": row.quantity,
        "price": row.price,
    }
    return [
        f"{k}: submitted {submitted[k]!s}, stored {stored[k]!s}"
        for k in submitted
        if submitted[k] != stored[k]
    ]


def acknowledged_orders_unique(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult(
        "acknowledged_orders_unique", "every acknowledged client order id maps to exactly one order"
    )
    by_key: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in snap.orders.values():
        by_key[(row.account_id, row.client_order_id)].append(row.order_id)
    for key, acks in j.acks.items():
        check.checked += 1
        acked = {str(a.get("order_id")) for a in acks}
        stored = set(by_key.get(key, ()))
        ids = sorted(acked | stored)
        if len(ids) > 1:
            check.add(
                f"duplicated: client order id {key[1]} (account {key[0]}) is "
                f"{len(ids)} orders: acknowledged {sorted(acked)}, stored {sorted(stored)}",
                ids,
                [key[1]],
            )
    return check


def no_phantom_orders(j: JournalSet, snap: Snapshot, warnings: list[str]) -> CheckResult:
    check = CheckResult(
        "no_phantom_orders", "no order of a load account exists that was never submitted"
    )
    accounts = j.accounts
    for row in snap.orders.values():
        if row.account_id not in accounts:
            continue
        check.checked += 1
        if (row.account_id, row.client_order_id) in j.intents:
            continue
        if any(row.client_order_id.startswith(p) for p in j.unclean_prefixes):
            warnings.append(
                f"order {row.order_id} ({row.client_order_id}) is not journaled: its "
                "load process did not stop cleanly (lost journal tail)"
            )
            continue
        check.add(
            f"phantom: order {row.order_id} ({row.client_order_id}, account "
            f"{row.account_id}, {row.side} {row.quantity} {row.symbol}, {row.status}) "
            "was never submitted by the load",
            [row.order_id],
            [row.client_order_id],
        )
    return check


def acknowledged_state_consistent(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult(
        "acknowledged_state_consistent", "stored order states follow from the acknowledged ones"
    )
    for (_, coid), acks in j.acks.items():
        last = max(acks, key=lambda a: float(a.get("t") or 0))
        row = snap.orders.get(str(last.get("order_id")))
        if row is None:
            continue  # reported as lost
        check.checked += 1
        status = last.get("status")
        if status in FINAL and row.status != status:
            check.add(
                f"order {row.order_id} ({coid}) was acknowledged {status} (final) but is "
                f"stored {row.status}",
                [row.order_id],
                [coid],
            )
        acked_filled = last.get("filled_quantity")
        if isinstance(acked_filled, int) and acked_filled > row.filled_quantity:
            check.add(
                f"order {row.order_id} ({coid}) was acknowledged with {acked_filled} filled "
                f"but is stored with {row.filled_quantity}",
                [row.order_id],
                [coid],
            )
    for order_id, cancel in j.cancels.items():
        row = snap.orders.get(order_id)
        if row is None:
            continue
        check.checked += 1
        if row.status != "CANCELED":
            check.add(
                f"order {order_id} ({row.client_order_id}) was acknowledged CANCELED but "
                f"is stored {row.status}",
                [order_id],
                [row.client_order_id],
            )
        elif (
            isinstance(cancel.get("filled_quantity"), int)
            and cancel["filled_quantity"] != row.filled_quantity
        ):
            check.add(
                f"order {order_id} ({row.client_order_id}) was canceled with "
                f"{cancel['filled_quantity']} filled, stored {row.filled_quantity}",
                [order_id],
                [row.client_order_id],
            )
    return check


def trades_balanced(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult(
        "trades_balanced", "one BUY and one SELL fill per trade, bought = sold per symbol"
    )
    by_trade: dict[str, list] = defaultdict(list)
    for fill in snap.fills:
        by_trade[fill.trade_id].append(fill)
    bought: dict[str, int] = defaultdict(int)
    sold: dict[str, int] = defaultdict(int)
    for trade in snap.trades.values():
        check.checked += 1
        fills = by_trade.get(trade.trade_id, [])
        ids, coids = _trade_orders(snap, trade.trade_id)
        problems = []
        buys = [f for f in fills if f.side == "BUY"]
        sells = [f for f in fills if f.side == "SELL"]
        if len(buys) != 1 or len(sells) != 1:
            problems.append(f"{len(buys)} BUY and {len(sells)} SELL fills (expected 1 and 1)")
        for fill in fills:
            bought[fill.symbol] += fill.quantity if fill.side == "BUY" else 0
            sold[fill.symbol] += fill.quantity if fill.side == "SELL" else 0
            expected_order = trade.buy_order_id if fill.side == "BUY" else trade.sell_order_id
            if fill.order_id != expected_order:
                problems.append(
                    f"fill {fill.fill_id} is for order {fill.order_id}, the trade's "
                    f"{fill.side} order is {expected_order}"
                )
            if fill.quantity != trade.quantity or fill.price != trade.price:
                problems.append(
                    f"fill {fill.fill_id} is {fill.quantity} @ {fill.price}, the "
                    f"trade {trade.quantity} @ {trade.price}"
                )
            if fill.symbol != trade.symbol:
                problems.append(
                    f"fill {fill.fill_id} is in {fill.symbol}, the trade in {trade.symbol}"
                )
            order = snap.orders.get(fill.order_id)
            if order is not None and order.account_id != fill.account_id:
                problems.append(
                    f"fill {fill.fill_id} books account {fill.account_id}, its "
                    f"order belongs to {order.account_id}"
                )
        if problems:
            check.add(f"trade {trade.trade_id}: {'; '.join(problems)}", ids, coids)
    for fill in snap.fills:
        if fill.trade_id not in snap.trades:
            row = snap.orders.get(fill.order_id)
            check.add(
                f"fill {fill.fill_id} of order {fill.order_id} belongs to trade "
                f"{fill.trade_id}, which does not involve that order",
                [fill.order_id],
                [row.client_order_id] if row else [],
            )
    for symbol in sorted(set(bought) | set(sold)):
        if bought[symbol] != sold[symbol]:
            check.add(f"{symbol}: {bought[symbol]} bought but {sold[symbol]} sold")
    return check


def orders_not_overfilled(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult("orders_not_overfilled", "no order filled beyond its quantity")
    for row in snap.orders.values():
        check.checked += 1
        if row.fill_quantity > row.quantity or row.filled_quantity > row.quantity:
            check.add(
                f"overfilled: order {row.order_id} ({row.client_order_id}) of "
                f"{row.quantity} has fills for {row.fill_quantity} (filled_quantity "
                f"{row.filled_quantity})",
                [row.order_id],
                [row.client_order_id],
            )
    return check


def _status_problem(row: OrderRow) -> str | None:
    filled, qty = row.filled_quantity, row.quantity
    if row.status == "NEW" and filled != 0:
        return f"NEW with {filled} filled"
    if row.status == "PARTIALLY_FILLED" and not 0 < filled < qty:
        return f"PARTIALLY_FILLED with {filled} of {qty} filled"
    if row.status == "FILLED" and filled != qty:
        return f"FILLED with {filled} of {qty} filled"
    if row.status == "CANCELED" and filled >= qty:
        return f"CANCELED with all {qty} filled"
    if row.status == "REJECTED" and (filled or row.fill_count):
        return f"REJECTED with {filled} filled and {row.fill_count} fill(s)"
    if row.type == "MARKET" and row.status in ("NEW", "PARTIALLY_FILLED"):
        return f"MARKET order resting on the book as {row.status} (MARKET is IOC)"
    return None


def order_status_matches_fills(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult(
        "order_status_matches_fills",
        "filled quantity = sum of fills, status agrees, limit respected",
    )
    by_order: dict[str, list] = defaultdict(list)
    for fill in snap.fills:
        by_order[fill.order_id].append(fill)
    for row in snap.orders.values():
        check.checked += 1
        problems = []
        if row.filled_quantity != row.fill_quantity:
            problems.append(
                f"filled_quantity {row.filled_quantity} but fills sum to {row.fill_quantity}"
            )
        status = _status_problem(row)
        if status:
            problems.append(status)
        if row.price is not None:
            for fill in by_order.get(row.order_id, ()):
                if (row.side == "BUY" and fill.price > row.price) or (
                    row.side == "SELL" and fill.price < row.price
                ):
                    problems.append(
                        f"fill {fill.fill_id} at {fill.price} breaks the "
                        f"{row.side} limit {row.price}"
                    )
        if problems:
            check.add(
                f"order {row.order_id} ({row.client_order_id}): {'; '.join(problems)}",
                [row.order_id],
                [row.client_order_id],
            )
    return check


def outbox_drained(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult("outbox_drained", f"the outbox drained (waited {snap.drain_waited_s:.1f}s)")
    check.checked = 1
    if not snap.drained:
        for event_id, topic, aggregate in snap.pending_outbox:
            ids, coids = _trade_orders(snap, aggregate) if topic == "trade" else ([], [])
            check.add(
                f"outbox event {event_id} ({topic} {aggregate}) still undelivered after "
                f"{snap.drain_waited_s:.1f}s",
                ids,
                coids,
            )
    return check


def trades_in_outbox(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult("trades_in_outbox", "every trade has exactly one outbox event")
    for trade_id in snap.trades:
        check.checked += 1
        events = snap.outbox.get(trade_id, [])
        if len(events) != 1:
            ids, coids = _trade_orders(snap, trade_id)
            what = "no outbox event" if not events else f"{len(events)} outbox events"
            check.add(f"trade {trade_id} has {what}", ids, coids)
    return check


def fills_in_ledger(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult("fills_in_ledger", "every trade's fills are posted to the ledger")
    expected: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for fill in snap.fills:
        if fill.trade_id not in snap.trades:
            continue
        sign = 1 if fill.side == "BUY" else -1
        postings = expected[fill.trade_id]
        postings[(fill.account_id, fill.symbol)] += sign * fill.quantity
        postings[(fill.account_id, CASH)] -= sign * fill.quantity * fill.price
    posted: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(dict)
    for (trade_id, account, asset), amount in snap.trade_postings.items():
        posted[trade_id][(account, asset)] = amount
    for trade_id in snap.trades:
        check.checked += 1
        want = {k: v for k, v in expected.get(trade_id, {}).items() if v != 0}
        have = {k: v for k, v in posted.get(trade_id, {}).items() if v != 0}
        if want == have:
            continue
        ids, coids = _trade_orders(snap, trade_id)
        if not have:
            check.add(f"trade {trade_id}: fills never reached the ledger", ids, coids)
            continue
        diffs = [
            f"{a}/{s}: fills imply {want.get((a, s), 0)}, ledger has {have.get((a, s), 0)}"
            for a, s in sorted(set(want) | set(have))
            if want.get((a, s)) != have.get((a, s))
        ]
        check.add(f"trade {trade_id}: {'; '.join(diffs)}", ids, coids)
    return check


def positions_match_fills(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult(
        "positions_match_fills", "every balance equals deposits plus what the fills imply"
    )
    check.checked = snap.balance_count
    for account, asset, implied, balance in snap.position_mismatches:
        check.add(
            f"account {account} {asset}: deposits + fills imply {implied}, balance is "
            f"{balance} (off by {balance - implied})"
        )
    return check


def balances_match_ledger(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult("balances_match_ledger", "every balance equals its ledger postings")
    check.checked = snap.balance_count
    for account, asset, ledger, balance in snap.balance_mismatches:
        check.add(f"account {account} {asset}: ledger sums to {ledger}, balance is {balance}")
    return check


def assets_conserved(j: JournalSet, snap: Snapshot) -> CheckResult:
    check = CheckResult(
        "assets_conserved", "every asset sums to zero over all accounts, every posting nets to zero"
    )
    check.checked = snap.asset_count + snap.ledger_journal_count
    for asset, total in snap.unbalanced_assets:
        check.add(f"{asset} sums to {total} over all accounts (incl. EXTERNAL), not 0")
    for journal_id, trade_id, asset, net in snap.unbalanced_journals:
        ids, coids = _trade_orders(snap, trade_id) if trade_id else ([], [])
        check.add(
            f"ledger journal {journal_id}"
            f"{f' (trade {trade_id})' if trade_id else ''} nets {net} {asset}, not 0",
            ids,
            coids,
        )
    return check


CHECKS: tuple[Callable[[JournalSet, Snapshot], CheckResult], ...] = (
    acknowledged_orders_exist,
    acknowledged_orders_unique,
    acknowledged_state_consistent,
    trades_balanced,
    orders_not_overfilled,
    order_status_matches_fills,
    outbox_drained,
    trades_in_outbox,
    fills_in_ledger,
    positions_match_fills,
    balances_match_ledger,
    assets_conserved,
)


def run_checks(j: JournalSet, snap: Snapshot, warnings: list[str]) -> list[CheckResult]:
    """Every check, in a stable order (phantoms third)."""
    results = [c(j, snap) for c in CHECKS]
    results.insert(2, no_phantom_orders(j, snap, warnings))
    return results
