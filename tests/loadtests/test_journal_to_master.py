"""Order journals forwarded to the Locust master (``--journal-to-master``): a real
distributed run on 127.0.0.1 (``python -m loadtests.control`` around a master, two
``locust --worker`` processes, the FAKE gateway), a worker SIGKILLed mid-run, a
restarted worker with the same hostname and pid, and what the master refuses."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import FakeGatewayProcess
from control_helpers import (
    clean_env,
    free_port,
    journal_lines,
    kill_group,
    start_control,
    start_worker,
    wait_for,
)

from loadtests.forwarding import JOURNAL_MESSAGE, JournalReceiver
from loadtests.reconcile.journals import read_journals

USERS, RATE = "10", "40"  # every worker gets traders (weight 5 of 10)


def master_args(gateway: str, accounts: Path, port: int, workers: int) -> list[str]:
    return ["--master", "--headless", "--expect-workers", str(workers),
            "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--host", gateway, "--csv", "locust", "--only-summary", "--exit-code-on-error", "0",
            "--load-profile", "steady", "--target-users", USERS, "--profile-duration", "120s",
            "--rate", RATE, "--accounts-file", str(accounts), "--journal-dir", "journal",
            "--journal-to-master", "true", "--run-id", "fwd1"]


def worker_env(accounts: Path, tmp_path: Path) -> dict[str, str]:
    return clean_env(
        TRADESTORM_JOURNAL_TO_MASTER="true", TRADESTORM_ACCOUNTS_FILE=str(accounts),
        TRADESTORM_USERS=USERS, TRADESTORM_RATE=RATE, TRADESTORM_RUN_ID="fwd1",
        TRADESTORM_JOURNAL_DIR=str(tmp_path / "worker-local-journal"),
    )


def received(journal_dir: Path) -> dict[Path, list[dict[str, Any]]]:
    """The journals the master holds so far (complete lines only)."""
    out = {}
    for path in sorted(journal_dir.glob("orders-*.jsonl")):
        text = path.read_text()
        out[path] = [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]
    return out


def acks(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == "ack"]


def test_a_distributed_run_keeps_the_journals_of_killed_and_stopped_workers(
    fake_gateway: FakeGatewayProcess, fake_accounts: Path, tmp_path: Path
) -> None:
    port = free_port()
    control = start_control(tmp_path, master_args(fake_gateway.url, fake_accounts, port, 3))
    env = worker_env(fake_accounts, tmp_path)
    workers = [start_worker(tmp_path / f"w{i}", port, env) for i in range(3)]
    killed, terminated, survivor = workers
    try:
        journal_dir = control.results / "journal"
        # every worker journals on the master while the run goes on
        wait_for(lambda: len(j := received(journal_dir)) == 3
                 and all(len(acks(r)) >= 3 for r in j.values()), timeout=60)
        code, _ = control.call("GET", "/results.tar.gz")
        assert code == 409
        by_pid = {records[0]["pid"]: path.name for path, records in received(journal_dir).items()}
        assert set(by_pid) == {w.pid for w in workers}

        time.sleep(1.0)  # let the workers run on: the kill lands in the middle of the run
        killed_at = time.time()
        killed.send_signal(signal.SIGKILL)  # a crash: no chance to say anything
        killed.wait(timeout=10)
        terminated.send_signal(signal.SIGTERM)  # its pod deleted: a clean stop, mid-run
        assert terminated.wait(timeout=30) == 0
        # the survivor keeps journaling after both
        wait_for(lambda: acks(received(journal_dir)[journal_dir / by_pid[survivor.pid]])[-1]["t"]
                 > killed_at + 1.0, timeout=30)

        assert control.call("POST", "/stop")[0] == 202
        status = control.wait_exited(timeout=60)
        assert status["exit_code"] == 0, control.log()[-3000:]
        files = control.results_tar()
        assert survivor.wait(timeout=30) == 0  # the master told it to quit
    finally:
        for worker in workers:
            kill_group(worker)
        control.terminate()

    # the Locust CSVs and every worker's journal are in the tarball, nothing on the workers
    assert {"locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv",
            "logs/locust.log"} <= set(files)
    names = {n for n in files if n.startswith("journal/")}
    assert names == {f"journal/{by_pid[w.pid]}" for w in workers}
    assert not (tmp_path / "worker-local-journal").exists()
    journals = {w: journal_lines(files[f"journal/{by_pid[w.pid]}"]) for w in workers}

    # the killed worker's journal: no end record, acks up to shortly before the kill
    dead = journals[killed]
    assert dead[0]["kind"] == "start" and all(r["kind"] != "end" for r in dead)
    assert killed_at - 1.5 <= acks(dead)[-1]["t"] <= killed_at
    # the two that stopped cleanly end with their end record, counting what they hold
    for worker in (terminated, survivor):
        records = journals[worker]
        assert records[-1]["kind"] == "end"
        assert records[-1]["submitted"] == sum(r["kind"] == "submit" for r in records)
        assert records[-1]["acknowledged"] == len(acks(records))
    assert acks(journals[terminated])[-1]["t"] >= killed_at - 1.5

    # every acknowledged order is in the gateway's store, as acknowledged
    stored = {o["client_order_id"]: o for o in fake_gateway.orders()["orders"]}
    all_acks = [a for records in journals.values() for a in acks(records)]
    for ack in all_acks:
        assert stored[ack["client_order_id"]]["order_id"] == ack["order_id"]

    # reconcile reads them: one unclean journal, the killed worker's
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    for name in names:
        (extracted / Path(name).name).write_bytes(files[name])
    journal_set = read_journals(extracted)
    assert [p.name for p in journal_set.unclean] == [by_pid[killed.pid]]
    assert journal_set.acknowledged == len(all_acks)


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_a_restarted_worker_with_the_same_hostname_and_pid_gets_its_own_journal(
    fake_gateway: FakeGatewayProcess, fake_accounts: Path, tmp_path: Path
) -> None:
    # a container restart: same hostname, and the same pid in a fresh pid namespace
    container = ("unshare", "--pid", "--fork", "--mount-proc")
    probe = subprocess.run([*container, "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a pid namespace here: {probe.stderr.decode()[-200:]}")
    port = free_port()
    control = start_control(tmp_path, master_args(fake_gateway.url, fake_accounts, port, 2))
    env = worker_env(fake_accounts, tmp_path)
    journal_dir = control.results / "journal"
    # a second worker keeps the run going while the restarted one is away
    anchor = start_worker(tmp_path / "anchor", port, env)
    first = start_worker(tmp_path / "w", port, env, prefix=container)
    second = None
    try:
        wait_for(lambda: len(received(journal_dir)) == 2, timeout=60)
        [before] = [p for p, r in received(journal_dir).items() if r[0]["pid"] != anchor.pid]
        wait_for(lambda: len(acks(received(journal_dir)[before])) >= 2, timeout=60)
        kill_group(first)  # the container dies, and comes back
        second = start_worker(tmp_path / "w", port, env, prefix=container)
        wait_for(lambda: len(received(journal_dir)) == 3, timeout=60)
        assert control.call("POST", "/stop")[0] == 202
        assert control.wait_exited(timeout=60)["exit_code"] == 0
        assert second.wait(timeout=30) == 0
    finally:
        for worker in (anchor, first, second):
            if worker is not None:
                kill_group(worker)
        control.terminate()
    journals = {p: r for p, r in received(journal_dir).items() if r[0]["pid"] != anchor.pid}
    [after] = set(journals) - {before}
    old, new = journals[before], journals[after]
    assert (old[0]["pid"], old[0]["host"]) == (new[0]["pid"], new[0]["host"])
    assert old[-1]["kind"] != "end"  # the killed container's journal
    assert new[-1]["kind"] == "end"  # the restarted one stopped cleanly, in a file of its own


def message(data: Any, node: str = "worker-a") -> SimpleNamespace:
    """What Locust hands a message listener (its ``Message``: type, data, node id); importing
    Locust here would monkey-patch the test process with gevent."""
    return SimpleNamespace(type=JOURNAL_MESSAGE, data=data, node_id=node)


@pytest.mark.parametrize(
    "data",
    [
        {"file": "../orders-x-1-aa.jsonl", "seq": 0, "lines": "{}\n", "end": False},
        {"file": "orders-x/../../evil.jsonl", "seq": 0, "lines": "{}\n", "end": False},
        {"file": "/tmp/orders-x.jsonl", "seq": 0, "lines": "{}\n", "end": False},
        {"file": "notes-x-1-aa.jsonl", "seq": 0, "lines": "{}\n", "end": False},
        {"file": "orders-x-1-aa.txt", "seq": 0, "lines": "{}\n", "end": False},
        {"file": "orders-x\\1.jsonl", "seq": 0, "lines": "{}\n", "end": False},
        {"file": "orders-x-1-aa.jsonl", "seq": 0, "lines": b"{}\n", "end": False},
        {"file": "orders-x-1-aa.jsonl", "seq": "0", "lines": "{}\n", "end": False},
        {"file": "orders-x-1-aa.jsonl", "seq": 0, "lines": "{}\n"},
        ["orders-x-1-aa.jsonl"],
        None,
    ],
)
def test_the_master_ignores_a_malformed_journal_message(
    tmp_path: Path, data: Any, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = JournalReceiver(tmp_path / "results" / "journal")
    receiver.handle(msg=message(data))
    assert receiver.refused == 1 and receiver.files == {}
    assert not list(tmp_path.rglob("*.jsonl"))
    assert "order journal message from worker worker-a ignored" in caplog.text


def test_the_master_appends_each_worker_journal_and_keeps_them_apart(tmp_path: Path) -> None:
    receiver = JournalReceiver(tmp_path / "journal", fsync=True)
    name = "orders-vm-7-0a1b2c.jsonl"
    receiver.handle(msg=message({"file": name, "seq": 0, "lines": '{"kind":"start","t":1}\n',
                                 "end": False}))
    # another worker using the same name is refused, not mixed into the file
    receiver.handle(msg=message({"file": name, "seq": 0, "lines": '{"kind":"start","t":2}\n',
                                 "end": False}, node="worker-b"))
    receiver.handle(msg=message({"file": name, "seq": 1, "lines": '{"kind":"end","t":3}\n',
                                 "end": True}))
    assert receiver.refused == 1 and receiver.files == {name: True}
    assert (tmp_path / "journal" / name).read_text() == (
        '{"kind":"start","t":1}\n{"kind":"end","t":3}\n'
    )
    receiver.close()
