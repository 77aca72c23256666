"""The control wrapper of the Locust master (``python -m loadtests.control``), run as a real
process around a real headless Locust: its HTTP API, its refusals, its exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from control_helpers import TOKEN, clean_env, journal_lines, start_control, wait_for


def standalone_args(accounts: Path, duration: str = "60s", host: str = "http://127.0.0.1:9"):
    """A headless standalone Locust run (no master needed to exercise the wrapper); port 9
    refuses connections: every request fails fast, which is fine here."""
    return ["--headless", "--host", host, "--csv", "locust", "--only-summary",
            "--exit-code-on-error", "0", "--load-profile", "steady", "--target-users", "1",
            "--profile-duration", duration, "--rate", "2", "--accounts-file", str(accounts),
            "--journal-dir", "journal"]


def test_the_api_refuses_bad_requests_and_stops_locust_gracefully(
    tmp_path: Path, fake_accounts: Path
) -> None:
    control = start_control(tmp_path, standalone_args(fake_accounts))
    try:
        assert control.call("GET", "/healthz", token=None) == (200, b"ok\n")
        assert control.call("GET", "/status", token=None)[0] == 401
        assert control.call("GET", "/status", token="wrong")[0] == 401
        assert control.call("POST", "/stop", token=None)[0] == 401  # and nothing was stopped
        assert control.call("GET", "/results.tar.gz", token="wrong")[0] == 401
        assert control.call("GET", "/nope")[0] == 404
        assert control.call("GET", "/nope", token=None)[0] == 401  # no probing without a token
        assert control.call("GET", "/stop")[0] == 405

        status = wait_for(lambda: (s := control.status())["state"] == "running" and s)
        assert status["pid"] > 0 and status["exit_code"] is None and status["ended_at"] is None
        assert status["started_at"] <= time.time() and not status["stop_requested"]
        code, body = control.call("GET", "/results.tar.gz")
        assert code == 409 and json.loads(body)["state"] == "running"
        wait_for(lambda: any(p.stat().st_size > 300  # users run: Locust is past its start
                             for p in (control.results / "journal").glob("orders-*.jsonl")))

        for _ in range(2):  # idempotent: one SIGINT to Locust
            code, body = control.call("POST", "/stop")
            assert code == 202 and json.loads(body)["stop_requested"] is True
        status = control.wait_exited(timeout=30)
        assert status["exit_code"] == 0 and status["ended_at"] >= status["started_at"]

        files = control.results_tar()
        assert {"locust_stats.csv", "locust_failures.csv", "logs/locust.log"} <= set(files)
        [journal] = [n for n in files if n.startswith("journal/orders-")]
        assert journal_lines(files[journal])[-1]["kind"] == "end"  # Locust stopped gracefully
        assert "Shutting down (exit code 0)" in files["logs/locust.log"].decode()
        assert "Shutting down (exit code 0)" in control.log()  # echoed to its stdout too
        assert control.process.poll() is None  # lingering: the results can still be fetched
    finally:
        code = control.terminate()
    assert code == 0  # SIGTERM while lingering: it exits at once with Locust's exit code


def test_no_token_configured_refuses_to_start(tmp_path: Path, fake_accounts: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "loadtests.control", "--port", "0", "--results-dir",
         str(tmp_path / "r"), "--token-env", "MY_CONTROL_TOKEN", "--", "--headless"],
        env=clean_env(TRADESTORM_CONTROL_TOKEN=TOKEN),  # not the variable it was told to read
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 2
    assert "MY_CONTROL_TOKEN" in out.stderr
    assert not (tmp_path / "r").exists()  # nothing started


def test_locust_exit_code_is_kept_after_the_linger(tmp_path: Path, fake_accounts: Path) -> None:
    args = standalone_args(fake_accounts)
    args[args.index("--target-users") + 1] = "0"  # Locust refuses it: exit code 2
    control = start_control(tmp_path, args, linger=0)
    code = control.process.wait(timeout=60)
    assert code == 2
    assert "target-users" in (control.results / "logs" / "locust.log").read_text()


def test_sigterm_stops_locust_gracefully_and_exits_with_its_code(
    tmp_path: Path, fake_accounts: Path
) -> None:
    control = start_control(tmp_path, standalone_args(fake_accounts))
    try:
        wait_for(lambda: any(p.stat().st_size > 300
                             for p in (control.results / "journal").glob("orders-*.jsonl")))
        child = control.status()["pid"]
        started = time.monotonic()
        control.process.send_signal(signal.SIGTERM)
        code = control.process.wait(timeout=45)
    finally:
        control.terminate()
    assert code == 0
    assert time.monotonic() - started < 30  # no linger after a SIGTERM
    [journal] = (control.results / "journal").glob("orders-*.jsonl")
    assert journal_lines(journal.read_bytes())[-1]["kind"] == "end"
    assert (control.results / "locust_stats.csv").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # Locust is gone with its wrapper


def test_a_locust_that_ignores_the_stop_is_killed_and_its_results_kept(
    tmp_path: Path, fake_accounts: Path
) -> None:
    """A hung Locust (SIGSTOPped: it cannot act on SIGINT) is killed after --stop-grace;
    the status says so and what it wrote before is still fetched."""
    control = start_control(tmp_path, standalone_args(fake_accounts), extra=("--stop-grace", "2"))
    try:
        status = wait_for(lambda: (s := control.status())["state"] == "running" and s)
        wait_for(lambda: any(p.stat().st_size > 300
                             for p in (control.results / "journal").glob("orders-*.jsonl")))
        os.kill(status["pid"], signal.SIGSTOP)
        code, body = control.call("POST", "/stop")
        assert code == 202 and json.loads(body)["killed"] is False
        status = control.wait_exited(timeout=30)
        assert status["killed"] is True and status["exit_code"] == 128 + signal.SIGKILL
        files = control.results_tar()
        [journal] = [n for n in files if n.startswith("journal/orders-")]
        assert journal_lines(files[journal])  # the lines written before the hang are kept
        assert "killing it" in files["logs/locust.log"].decode()
    finally:
        control.terminate()
