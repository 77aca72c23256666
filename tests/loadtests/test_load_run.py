"""Real headless Locust runs of loadtests/locustfile.py against a FAKE gateway
(loadtests.fakegateway, its own process): the profile's shape in Locust's
stats history, client metrics served and registered for Prometheus while the
run lasts, the journal, retries that reuse the client order id, processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, FakeGatewayProcess, start_fake_gateway
from control_helpers import wait_for

from loadtests.errors import ConfigError
from loadtests.launcher import start_load


@pytest.fixture
def lossy_gateway():
    gw = start_fake_gateway("--lose-ack-every", "3", "--reject-every", "4", "--throttle-every", "7")
    yield gw
    gw.process.terminate()
    gw.process.wait(timeout=10)
    gw.process.stdout.close()


def journal_records(journal_dir: Path) -> dict[Path, list[dict]]:
    return {
        p: [json.loads(line) for line in p.read_text().splitlines()]
        for p in sorted(journal_dir.glob("orders-*.jsonl"))
    }


def scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as resp:
        return resp.read().decode()


def test_spike_run_shape_metrics_journal_and_retries(
    lossy_gateway: FakeGatewayProcess, fake_accounts: Path, tmp_path: Path
) -> None:
    results, state = tmp_path / "results", tmp_path / "state"
    run = start_load(
        "spike",
        host=lossy_gateway.url,
        accounts_file=fake_accounts,
        results_dir=results,
        duration_s=10,
        users=10,
        seed=7,
        rate=30,
        state_dir=state,
    )
    try:
        targets = state / "prometheus" / "targets"
        target_file = wait_for(lambda: next(iter(targets.glob("load-*.json")), None))
        doc = json.loads(target_file.read_text())
        assert doc[0]["labels"]["job"] == "tradestorm-load"
        address = doc[0]["targets"][0]
        assert address.startswith("127.0.0.1:")
        order_line = (
            'tradestorm_client_requests_total{endpoint="/v1/orders",method="POST",'
            'outcome="ok",route_class="order-entry"}'
        )
        text = wait_for(lambda: next((t for t in [scrape(address)] if order_line in t), None))
        assert "tradestorm_client_request_duration_seconds_bucket" in text
        users = [line for line in text.splitlines() if line.startswith("tradestorm_client_users ")]
        assert users and float(users[0].split()[1]) >= 1
        # a risk denial and a 429 are outcomes of their own, not failures
        for outcome in ("denied", "throttled"):
            wanted = (f'endpoint="/v1/orders",method="POST",outcome="{outcome}",'
                      'route_class="order-entry"')
            wait_for(lambda w=wanted: w in scrape(address), timeout=20)
        code = run.wait(timeout_s=60)
    finally:
        run.stop()
    assert code == 0
    assert not target_file.exists(), "the file_sd registration outlived the run"

    # the shape: spike is an arrival-rate profile, 6 orders/s (20 % of 30), 30 orders/s from
    # 4 s to 6 s, 6 again; the sends start 1 s into the run (the schedule's lead)
    [(path, records)] = journal_records(results / "journal").items()
    times = [r["t"] for r in records if r["kind"] == "submit"]
    first = times[0]

    def sent_between(a: float, b: float) -> int:
        return sum(1 for t in times if a <= t - first < b)

    # (windows of 2 s, 1 s, 2 s kept half a second clear of the changes of rate)
    assert sent_between(0.5, 2.5) <= 6 * 2 + 2  # base rate before the spike
    assert sent_between(3.5, 4.5) >= 0.8 * 30  # the spike (a few may be dropped)
    assert sent_between(5.5, 7.5) <= 6 * 2 + 2
    assert json.loads((results / "sends.json").read_text())["model"] == "open"

    # the journal: every acknowledged order exists once at the gateway, nothing unjournaled
    assert records[0]["kind"] == "start" and records[-1]["kind"] == "end"
    submits = {r["client_order_id"] for r in records if r["kind"] == "submit"}
    acks = [r for r in records if r["kind"] == "ack"]
    stored = {o["client_order_id"]: o for o in lossy_gateway.orders()["orders"]}
    assert len(acks) >= 6
    assert set(stored) <= submits  # no order the load did not submit
    for ack in acks:
        assert stored[ack["client_order_id"]]["order_id"] == ack["order_id"]
    assert len({a["client_order_id"] for a in acks}) == len(acks)  # each acknowledged once
    retried = [a for a in acks if a["attempts"] > 1]
    assert retried and all(a["replayed"] and a["http_status"] == 200 for a in retried)
    assert any(a["status"] == "REJECTED" for a in acks)

    # Locust saw the lost acks as failures, not the risk denials
    failures = (results / "locust_failures.csv").read_text()
    assert "ack lost (fake)" in failures
    assert "REJECTED" not in failures and "429" not in failures


def test_processes_each_journal_and_register(
    fake_gateway: FakeGatewayProcess, fake_accounts: Path, tmp_path: Path
) -> None:
    results, state = tmp_path / "results", tmp_path / "state"
    targets = state / "prometheus" / "targets"
    run = start_load(
        "steady",
        host=fake_gateway.url,
        accounts_file=fake_accounts,
        results_dir=results,
        duration_s=5,
        users=4,
        rate=8,
        processes=2,
        state_dir=state,
    )
    try:
        registered = wait_for(
            lambda: (f := sorted(targets.glob("load-*.json"))) and len(f) == 2 and f, timeout=20
        )
        addresses = {json.loads(p.read_text())[0]["targets"][0] for p in registered}
        assert len(addresses) == 2  # one endpoint per worker process
        assert run.wait(timeout_s=60) == 0
    finally:
        run.stop()
    assert list(targets.glob("load-*.json")) == []
    journals = journal_records(results / "journal")
    assert len(journals) == 2
    pids = {records[0]["pid"] for records in journals.values()}
    assert len(pids) == 2 and run.pid not in pids  # the workers journal, not the master
    for records in journals.values():
        assert records[-1]["kind"] == "end"
    assert (results / "locust_stats.csv").exists()


def test_stop_is_graceful_and_leaves_nothing(
    fake_gateway: FakeGatewayProcess, fake_accounts: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    run = start_load(
        "steady",
        host=fake_gateway.url,
        accounts_file=fake_accounts,
        results_dir=results,
        duration_s=120,
        users=3,
        rate=6,
    )
    wait_for(lambda: any(p.stat().st_size > 300 for p in (results / "journal").glob("*.jsonl")))
    started = time.monotonic()
    run.stop()
    assert time.monotonic() - started < 15
    assert not run.running
    with pytest.raises(ProcessLookupError):
        os.killpg(run.pid, 0)  # nothing of the run's process group is left
    [records] = journal_records(results / "journal").values()
    assert records[-1]["kind"] == "end"
    assert records[-1]["submitted"] == sum(r["kind"] == "submit" for r in records)
    assert (results / "locust_stats.csv").exists()


def test_plain_locust_with_environment_variables(
    fake_gateway: FakeGatewayProcess, fake_accounts: Path, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "TRADESTORM_PROFILE": "ramp",
        "TRADESTORM_USERS": "3",
        "TRADESTORM_DURATION": "3s",
        "TRADESTORM_ACCOUNTS_FILE": str(fake_accounts),
        "TRADESTORM_JOURNAL_DIR": str(tmp_path / "journal"),
        "TRADESTORM_RATE": "6",
    }
    env.pop("TRADESTORM_STATE_DIR", None)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(REPO / "loadtests" / "locustfile.py"),
            "--headless",
            "--host",
            fake_gateway.url,
            "--csv",
            str(tmp_path / "locust"),
            "--only-summary",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode in (0, 1), out.stderr[-2000:]  # 1: Locust counts failed requests
    [records] = journal_records(tmp_path / "journal").values()
    assert records[0]["profile"] == "ramp" and records[0]["users"] == 3
    assert records[-1]["kind"] == "end"
    assert (tmp_path / "locust_stats_history.csv").exists()


def test_plain_locust_rejects_bad_options_naming_them(fake_accounts: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(REPO / "loadtests" / "locustfile.py"),
            "--headless",
            "--host",
            "http://127.0.0.1:9",
            "--target-users",
            "0",
            "--accounts-file",
            str(fake_accounts),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "field 'target-users': must be >= 1" in out.stderr


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (None, "accounts"),
        ("{", "accounts"),
        ('{"accounts": []}', "accounts"),
        ('{"accounts": [{"account_id": "a"}]}', "accounts[0].api_key"),
        (
            '{"accounts": [{"account_id": "a", "api_key": "k"}, '
            '{"account_id": "a", "api_key": "j"}]}',
            "accounts[1].account_id",
        ),
    ],
)
def test_bad_accounts_file_is_refused_before_starting(tmp_path: Path, content, field) -> None:
    path = tmp_path / "accounts.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        start_load(
            "steady",
            host="http://127.0.0.1:9",
            accounts_file=path,
            results_dir=tmp_path / "r",
            duration_s=5,
        )
    assert info.value.field == field and str(path) in str(info.value)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"processes": 0}, "processes"),
        ({"users": 0}, "users"),
        ({"duration_s": -1}, "duration"),
        ({"host": "127.0.0.1:80"}, "host"),
        ({"seed": -3}, "seed"),
    ],
)
def test_bad_load_options_are_refused(fake_accounts: Path, tmp_path: Path, kwargs, field) -> None:
    args = {"host": "http://127.0.0.1:9", "duration_s": 5, **kwargs}
    with pytest.raises(ConfigError) as info:
        start_load("steady", accounts_file=fake_accounts, results_dir=tmp_path / "r", **args)
    assert info.value.field == field


def test_order_timed_out_is_retried_with_the_same_client_order_id(
    tmp_path: Path, fake_accounts: Path
) -> None:
    gw = start_fake_gateway("--stall-every", "3", "--stall-s", "1.5")
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(REPO / "loadtests" / "locustfile.py"),
                "--headless",
                "--host",
                gw.url,
                "--only-summary",
                "--load-profile",
                "steady",
                "--target-users",
                "2",
                "--profile-duration",
                "4s",
                "--rate",
                "6",
                "--request-timeout",
                "0.5",
                "--accounts-file",
                str(fake_accounts),
                "--journal-dir",
                str(tmp_path / "journal"),
                "--csv",
                str(tmp_path / "locust"),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode in (0, 1), out.stderr[-2000:]
        stored = gw.orders()
    finally:
        gw.process.terminate()
        gw.process.wait(timeout=10)
        gw.process.stdout.close()
    [records] = journal_records(tmp_path / "journal").values()
    acks = [r for r in records if r["kind"] == "ack"]
    retried = [a for a in acks if a["attempts"] > 1]
    assert retried, "no order was retried after a timeout"
    assert all(a["replayed"] for a in retried)
    # the retries re-posted ids the gateway already had (it stores one order per id)
    assert stored["posts"] > len(stored["orders"])
    submitted = {r["client_order_id"] for r in records if r["kind"] == "submit"}
    assert {a["client_order_id"] for a in retried} <= submitted
    assert "attempt 1/3" in (tmp_path / "locust_failures.csv").read_text()


def test_a_crash_loses_at_most_the_last_second_of_journal(
    fake_gateway: FakeGatewayProcess, fake_accounts: Path, tmp_path: Path
) -> None:
    import signal

    from loadtests.registration import prune_stale

    results, state = tmp_path / "results", tmp_path / "state"
    run = start_load(
        "steady",
        host=fake_gateway.url,
        accounts_file=fake_accounts,
        results_dir=results,
        duration_s=120,
        users=4,
        rate=20,
        state_dir=state,
    )
    try:
        wait_for(
            lambda: sum(p.stat().st_size for p in (results / "journal").glob("*.jsonl")) > 3000,
            timeout=30,
        )
        time.sleep(1.0)
        killed_at = time.time()
        os.killpg(run.pid, signal.SIGKILL)  # the load generator crashes
        run.process.wait(timeout=10)
    finally:
        run.stop()
    [records] = journal_records(results / "journal").values()
    assert records[-1]["kind"] != "end"
    assert records[-1]["t"] >= killed_at - 1.0, "more than the last second was lost"
    # every order the gateway stored more than a second before the crash was journaled
    submitted = {r["client_order_id"] for r in records if r["kind"] == "submit"}
    stored = {o["client_order_id"] for o in fake_gateway.orders()["orders"]}
    assert len(stored - submitted) <= 20 * 1.0  # at most ~1 s of orders at 20 iterations/s
    # its Prometheus registration is left behind, and the next load process prunes it
    stale = list((state / "prometheus" / "targets").glob("load-*.json"))
    assert len(stale) == 1
    assert prune_stale(state) == stale and not stale[0].exists()


def test_a_results_folder_with_journals_is_refused(fake_accounts: Path, tmp_path: Path) -> None:
    (tmp_path / "r" / "journal").mkdir(parents=True)
    (tmp_path / "r" / "journal" / "orders-h-1.jsonl").write_text('{"kind":"start","t":1}\n')
    with pytest.raises(ConfigError) as info:
        start_load(
            "steady",
            host="http://127.0.0.1:9",
            accounts_file=fake_accounts,
            results_dir=tmp_path / "r",
            duration_s=5,
        )
    assert info.value.field == "journal" and "fresh results folder" in str(info.value)


def test_metrics_port_in_use_is_a_clear_error(fake_accounts: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(REPO / "loadtests" / "locustfile.py"),
                "--headless",
                "--host",
                "http://127.0.0.1:9",
                "--accounts-file",
                str(fake_accounts),
                "--journal-dir",
                str(tmp_path / "journal"),
                "--metrics-port",
                str(port),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 2
    assert f"cannot serve client metrics on 127.0.0.1:{port}" in out.stderr
