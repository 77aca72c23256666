"""The `tradestorm load` and `tradestorm reconcile` commands as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import Book, FakeGatewayProcess, oid, sql

from tradestorm.cli import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_reconcile_clean_book_exits_0_and_writes_json(book: Book) -> None:
    results = book.journal_dir.parent
    out = invoke("reconcile", "--results", str(results), "--dsn", book.dsn, "--outbox-timeout", "1")
    assert out.exit_code == 0, out.output
    assert "no order lost" in out.output
    assert json.loads((results / "reconcile.json").read_text())["ok"] is True


def test_reconcile_damage_exits_1_naming_the_order(book: Book) -> None:
    sql(book.dsn, "DELETE FROM orders WHERE order_id = $1::uuid", oid(5))
    results = book.journal_dir.parent
    out = invoke("reconcile", "--results", str(results), "--dsn", book.dsn, "--outbox-timeout", "1")
    assert out.exit_code == 1
    assert oid(5) in out.output and "acknowledged_orders_exist" in out.output
    doc = json.loads((results / "reconcile.json").read_text())
    assert doc["ok"] is False and doc["lost"] == 1


def test_reconcile_without_journal_is_an_error(book: Book, tmp_path: Path) -> None:
    out = invoke("reconcile", "--results", str(tmp_path / "nothing"), "--dsn", book.dsn)
    assert out.exit_code == 2
    assert "no order journal" in out.output


def test_reconcile_with_nothing_acknowledged_is_inconclusive(book: Book, tmp_path: Path) -> None:
    (tmp_path / "r" / "journal").mkdir(parents=True)
    (tmp_path / "r" / "journal" / "orders-h-2.jsonl").write_text(
        json.dumps({"kind": "start", "t": 1.0, "accounts": ["nobody"]})
        + "\n"
        + json.dumps({"kind": "end", "t": 2.0})
        + "\n"
    )
    out = invoke(
        "reconcile", "--results", str(tmp_path / "r"), "--dsn", book.dsn, "--outbox-timeout", "1"
    )
    assert out.exit_code == 2
    assert "inconclusive" in out.output
    assert json.loads((tmp_path / "r" / "reconcile.json").read_text())["conclusive"] is False


def test_reconcile_without_a_running_target_says_so(tmp_path: Path) -> None:
    out = invoke("reconcile", "--results", str(tmp_path), "--state-dir", str(tmp_path / "s"))
    assert out.exit_code == 2
    assert "no local target runs" in out.output


def test_load_refuses_bad_input_with_exit_2(tmp_path: Path, fake_accounts: Path) -> None:
    missing = tmp_path / "missing.json"
    out = invoke(
        "load",
        "--host",
        "http://127.0.0.1:9",
        "--accounts",
        str(missing),
        "--results",
        str(tmp_path / "r"),
        "--duration",
        "3s",
    )
    assert out.exit_code == 2
    assert f"{missing}: field 'accounts': file not found" in out.output
    out = invoke("load", "--profile", "tsunami", "--results", str(tmp_path / "r"))
    assert out.exit_code == 2 and "tsunami" in out.output
    out = invoke(
        "load",
        "--host",
        "http://127.0.0.1:9",
        "--accounts",
        str(fake_accounts),
        "--results",
        str(tmp_path / "r"),
        "--duration",
        "5x",
    )
    assert out.exit_code == 2 and "field 'duration'" in out.output
    out = invoke("load", "--results", str(tmp_path / "r"), "--state-dir", str(tmp_path / "s"))
    assert out.exit_code == 2 and "no local target runs" in out.output


def test_load_runs_a_profile_and_summarises(
    fake_gateway: FakeGatewayProcess, fake_accounts: Path, tmp_path: Path
) -> None:
    results = tmp_path / "r"
    out = invoke(
        "load",
        "--host",
        fake_gateway.url,
        "--accounts",
        str(fake_accounts),
        "--results",
        str(results),
        "--duration",
        "3s",
        "--users",
        "3",
        "--rate",
        "6",
        "--profile",
        "market-open",
    )
    assert out.exit_code == 0, out.output
    assert "orders" in out.output
    assert (results / "locust_stats.csv").exists()
    assert len(list((results / "journal").glob("orders-*.jsonl"))) == 1


def test_sigterm_to_load_stops_the_run_gracefully(
    fake_gateway: FakeGatewayProcess, fake_accounts: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    results = tmp_path / "r"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradestorm",
            "load",
            "--host",
            fake_gateway.url,
            "--accounts",
            str(fake_accounts),
            "--results",
            str(results),
            "--duration",
            "5m",
            "--users",
            "2",
            "--rate",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            p.stat().st_size > 400 for p in (results / "journal").glob("*.jsonl")
        ):
            time.sleep(0.2)
        journal = next((results / "journal").glob("*.jsonl"))
        locust_pid = json.loads(journal.read_text().splitlines()[0])["pid"]
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, output
    assert "interrupted" in output
    assert json.loads(journal.read_text().splitlines()[-1])["kind"] == "end"
    try:
        os.kill(locust_pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "the Locust process outlived 'tradestorm load'"
