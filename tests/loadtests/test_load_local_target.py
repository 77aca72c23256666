"""A short real profile against the local target (the real platform, real
PostgreSQL, real Prometheus), then a clean reconciliation of its journal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from loadtests.reconcile import reconcile
from tradestorm.cli import cli


def prometheus_value(url: str, query: str) -> float | None:
    q = urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=5) as resp:
        result = json.load(resp)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_profile_against_local_target_reconciles_clean(local_target, tmp_path: Path) -> None:
    results = tmp_path / "results"
    # as a user runs it: gateway and accounts come from the target's state.json
    load = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradestorm",
            "load",
            "--profile",
            "steady",
            "--duration",
            "10s",
            "--users",
            "8",
            "--rate",
            "16",
            "--seed",
            "3",
            "--results",
            str(results),
            "--state-dir",
            str(local_target.state_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    scraped = None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and load.poll() is None and not scraped:
            time.sleep(1)
            # the local Prometheus found the load process through its file_sd registration
            scraped = prometheus_value(
                local_target.prometheus_url,
                'sum(tradestorm_client_requests_total{job="tradestorm-load"})',
            )
        output, _ = load.communicate(timeout=90)
    finally:
        if load.poll() is None:
            load.terminate()
            load.communicate(timeout=30)
    assert load.returncode == 0, output
    assert "requests" in output and "failures" in output  # the summary table
    assert scraped and scraped > 0, "Prometheus never scraped the load generator"
    assert not list((Path(local_target.state_dir) / "prometheus" / "targets").glob("load-*.json"))

    # one clock on the local target: a tight window keeps other tests' orders out of scope
    result = reconcile(
        local_target.dsn, results / "journal", outbox_drain_timeout_s=30, clock_skew_s=1
    )
    assert [v.detail for v in result.violations] == []
    assert result.ok and result.conclusive
    assert result.acknowledged >= 10
    checked = {c.name: c.checked for c in result.checks}
    assert checked["acknowledged_orders_exist"] == result.acknowledged
    assert checked["no_phantom_orders"] >= result.acknowledged

    out = CliRunner().invoke(
        cli,
        [
            "reconcile",
            "--results",
            str(results),
            "--state-dir",
            str(local_target.state_dir),
            "--clock-skew",
            "1",
        ],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    assert json.loads((results / "reconcile.json").read_text())["ok"] is True
