"""reconcile against a real PostgreSQL database holding the platform's schema:
a consistent book passes clean; each kind of damage is detected and named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Book, oid, sql

from loadtests.errors import ReconcileError
from loadtests.reconcile import reconcile, write_result


def check(result, name):
    return next(c for c in result.checks if c.name == name)


def failing(result) -> set[str]:
    return {c.name for c in result.checks if not c.ok}


def test_consistent_book_reconciles_clean(book: Book, tmp_path: Path) -> None:
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert result.violations == []
    assert result.ok and result.conclusive
    assert result.acknowledged == 6 and result.submitted == 8
    assert check(result, "trades_balanced").checked == 2
    assert check(result, "positions_match_fills").checked == 9  # A, B, EXTERNAL x 3 assets
    assert check(result, "assets_conserved").checked == 3 + 4  # USD AAPL MSFT, 4 journals
    path = write_result(result, tmp_path)
    doc = json.loads(path.read_text())
    assert doc["ok"] is True and doc["acknowledged"] == 6 and doc["lost"] == 0
    assert {c["name"] for c in doc["checks"]} >= {
        "acknowledged_orders_exist",
        "no_phantom_orders",
        "trades_balanced",
        "positions_match_fills",
        "assets_conserved",
        "fills_in_ledger",
    }
    assert all(c["ok"] and c["violations"] == 0 for c in doc["checks"])


def test_deleted_acknowledged_order_is_reported_lost(book: Book, tmp_path: Path) -> None:
    sql(book.dsn, "DELETE FROM orders WHERE order_id = $1::uuid", oid(5))
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert not result.ok
    lost = check(result, "acknowledged_orders_exist").violations
    assert [v.order_ids for v in lost] == [(oid(5),)]
    assert lost[0].client_order_ids == (book.coid(5),)
    assert "lost" in lost[0].detail
    doc = json.loads(write_result(result, tmp_path).read_text())
    assert doc["ok"] is False and doc["lost"] == 1
    assert any(oid(5) in v["order_ids"] for v in doc["violations"])


def test_duplicated_fill_is_detected(book: Book) -> None:
    sql(
        book.dsn,
        "INSERT INTO fills (fill_id, trade_id, order_id, account_id, symbol, side, "
        "price, quantity) SELECT gen_random_uuid(), trade_id, order_id, account_id, "
        "symbol, side, price, quantity FROM fills WHERE fill_id = $1::uuid",
        oid(1011),
    )
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert {"trades_balanced", "order_status_matches_fills"} <= failing(result)
    unbalanced = check(result, "trades_balanced").violations
    assert any(set(v.order_ids) == {oid(1), oid(2)} and "2 BUY" in v.detail for v in unbalanced)
    status = check(result, "order_status_matches_fills").violations
    assert [v.order_ids for v in status] == [(oid(1),)]
    assert "fills sum to 20" in status[0].detail


def test_skewed_position_is_detected(book: Book) -> None:
    sql(
        book.dsn,
        "UPDATE balances SET amount = amount + 7 WHERE account_id = $1 AND asset = 'AAPL'",
        Book.A,
    )
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert failing(result) == {"positions_match_fills", "balances_match_ledger"}
    detail = check(result, "positions_match_fills").violations[0].detail
    assert Book.A in detail and "AAPL" in detail and "off by 7" in detail


def test_dropped_outbox_row_is_detected(book: Book) -> None:
    sql(book.dsn, "DELETE FROM outbox WHERE aggregate_id = $1::uuid", oid(101))
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert failing(result) == {"trades_in_outbox"}
    v = check(result, "trades_in_outbox").violations
    assert len(v) == 1 and set(v[0].order_ids) == {oid(1), oid(2)}
    assert set(v[0].client_order_ids) == {book.coid(1), book.coid(2)}


def test_undelivered_outbox_and_missing_postings_are_detected(book: Book) -> None:
    # the trade's event never reached the ledger: undelivered and no postings
    sql(book.dsn, "UPDATE outbox SET delivered_at = NULL WHERE aggregate_id = $1::uuid", oid(102))
    sql(book.dsn, "DELETE FROM ledger_entries WHERE trade_id = $1::uuid", oid(102))
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=0.3)
    assert not result.outbox_drained
    assert {"outbox_drained", "fills_in_ledger", "balances_match_ledger"} <= failing(result)
    for name in ("outbox_drained", "fills_in_ledger"):
        assert {oid(3), oid(4)} == set(check(result, name).violations[0].order_ids)
    assert "never reached the ledger" in check(result, "fills_in_ledger").violations[0].detail


def test_overfilled_order_is_detected(book: Book) -> None:
    # a second trade fills order 3 for 20 more: 25 of 20
    sql(
        book.dsn,
        "INSERT INTO trades (trade_id, symbol, price, quantity, buy_order_id, "
        "sell_order_id, aggressor_side) VALUES ($1::uuid, 'AAPL', 98, 20, $2::uuid, "
        "$3::uuid, 'SELL')",
        oid(103),
        oid(3),
        oid(4),
    )
    sql(
        book.dsn,
        "INSERT INTO fills (fill_id, trade_id, order_id, account_id, symbol, side, "
        "price, quantity) VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3, 'AAPL', "
        "'BUY', 98, 20)",
        oid(103),
        oid(3),
        Book.A,
    )
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    over = check(result, "orders_not_overfilled").violations
    assert [v.order_ids for v in over] == [(oid(3),)]
    assert "fills for 25" in over[0].detail
    assert "trades_balanced" in failing(result)  # the extra trade has no SELL fill


def test_phantom_order_is_detected(book: Book) -> None:
    sql(
        book.dsn,
        "INSERT INTO orders (order_id, account_id, client_order_id, request_sha256, "
        "symbol, side, order_type, quantity, limit_price, status) VALUES "
        "($1::uuid, $2, 'ghost-1', 'x', 'AAPL', 'BUY', 'LIMIT', 1, 1, 'NEW')",
        oid(999),
        Book.A,
    )
    # an order of a load account placed long after the run is out of its scope
    sql(
        book.dsn,
        "INSERT INTO orders (order_id, account_id, client_order_id, request_sha256, "
        "symbol, side, order_type, quantity, limit_price, status, created_at) VALUES "
        "($1::uuid, $2, 'later-1', 'x', 'AAPL', 'BUY', 'LIMIT', 1, 1, 'NEW', "
        "now() + interval '1 hour')",
        oid(998),
        Book.A,
    )
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert failing(result) == {"no_phantom_orders"}
    v = check(result, "no_phantom_orders").violations
    assert [x.client_order_ids for x in v] == [("ghost-1",)] and v[0].order_ids == (oid(999),)


def test_misbooked_order_is_detected(book: Book) -> None:
    sql(book.dsn, "UPDATE orders SET quantity = 11 WHERE order_id = $1::uuid", oid(1))
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    v = check(result, "acknowledged_orders_exist").violations
    assert len(v) == 1 and "quantity: submitted 10, stored 11" in v[0].detail


def test_status_that_disagrees_with_fills_is_detected(book: Book) -> None:
    sql(book.dsn, "UPDATE orders SET status = 'FILLED' WHERE order_id = $1::uuid", oid(8))
    sql(book.dsn, "UPDATE orders SET status = 'NEW' WHERE order_id = $1::uuid", oid(6))
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    status = check(result, "order_status_matches_fills").violations
    assert {v.order_ids for v in status} == {(oid(8),)}
    state = check(result, "acknowledged_state_consistent").violations
    assert [v.order_ids for v in state] == [(oid(6),)]  # acknowledged REJECTED, now NEW
    assert "REJECTED" in state[0].detail


def test_one_sided_deposit_breaks_conservation(book: Book) -> None:
    sql(
        book.dsn,
        "INSERT INTO ledger_entries (journal_id, kind, account_id, asset, amount) "
        "VALUES (gen_random_uuid(), 'DEPOSIT', $1, 'USD', 100)",
        Book.A,
    )
    sql(
        book.dsn,
        "UPDATE balances SET amount = amount + 100 WHERE account_id = $1 AND asset = 'USD'",
        Book.A,
    )
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert failing(result) == {"assets_conserved"}
    details = [v.detail for v in check(result, "assets_conserved").violations]
    assert any(d.startswith("USD sums to 100") for d in details)


def test_without_journal_it_is_an_error(book: Book, tmp_path: Path) -> None:
    with pytest.raises(ReconcileError, match="no order journal"):
        reconcile(book.dsn, tmp_path / "empty", outbox_drain_timeout_s=1)


def test_corrupt_journal_line_is_an_error_naming_file_and_line(book: Book) -> None:
    path = next(book.journal_dir.glob("*.jsonl"))
    lines = path.read_text().splitlines()
    lines[2] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReconcileError, match=r"orders-h-1\.jsonl:3: not a JSON record"):
        reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)


def test_crash_truncated_journal_is_tolerated_and_reported(book: Book) -> None:
    path = next(book.journal_dir.glob("*.jsonl"))
    lines = path.read_text().splitlines()[:-1]  # no "end": the process crashed
    path.write_text("\n".join(lines) + '\n{"kind":"ack","t":1,"client_ord')
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert result.ok
    assert any("truncated last record" in w for w in result.warnings)
    assert any("did not stop cleanly" in w for w in result.warnings)


def test_unreachable_database_is_an_error(book: Book) -> None:
    from tradestorm.local.postgres import free_port

    dsn = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/nope"
    with pytest.raises(ReconcileError, match="cannot connect") as info:
        reconcile(dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert "secret" not in str(info.value)


def test_malformed_dsn_is_an_error_not_a_verdict(book: Book) -> None:
    # a traceback would exit 1, which `tradestorm reconcile` defines as "orders violated"
    with pytest.raises(ReconcileError, match="cannot connect"):
        reconcile("postgresql://postgres@127.0.0.1:notaport/x", book.journal_dir,
                  outbox_drain_timeout_s=1)


def test_unjournaled_order_of_a_crashed_process_is_a_warning_not_a_phantom(book: Book) -> None:
    # the load process crashed: no "end" record, and its last submit never reached the disk
    path = next(book.journal_dir.glob("*.jsonl"))
    lines = [
        line
        for line in path.read_text().splitlines()
        if '"kind": "end"' not in line and book.coid(8) not in line
    ]
    path.write_text("\n".join(lines) + "\n")
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert result.ok
    assert any(oid(8) in w and "did not stop cleanly" in w for w in result.warnings)
    # the same order without the crash excuse is a phantom
    path.write_text("\n".join(lines) + '\n{"kind": "end", "t": 1}\n')
    result = reconcile(book.dsn, book.journal_dir, outbox_drain_timeout_s=1)
    assert [v.order_ids for v in check(result, "no_phantom_orders").violations] == [(oid(8),)]
