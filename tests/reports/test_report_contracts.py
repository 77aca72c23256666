"""The report reads what the real producers write: the gate's ``slo.json``
(``slo.result``), ``reconcile.json`` (``loadtests.reconcile``), ``residue.json``
(``tradestorm_chaos.residue``) and a journal from a real Chaos Toolkit run."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path

import pytest
from fixture_results import START, write_results
from report_html import soup_of

from reports.build import build_report


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gate_result():
    from slo.result import (
        ComparisonItem,
        ComparisonResult,
        GateResult,
        HPAResult,
        IntegrityResult,
        ObjectiveResult,
        RecoveryResult,
    )

    def objective(name, phase, value, verdict):
        return ObjectiveResult(name=name, description=f"{name} holds", phase=phase, side="client",
                               query="max(client:latency_seconds:p99_10s)", value=value, unit="s",
                               op="<=", target=0.25, warning=0.2, verdict=verdict, key=True,
                               weight=1.0, detail="worst series", series={"service": "orders"})

    return GateResult(
        verdict="fail", exit_code=1, score=64.25, spec="slo/specs/reference-platform.yaml",
        evaluated_at=START + 700, prometheus_url="http://127.0.0.1:9090",
        window={"start": START, "end": START + 600},
        objectives=[objective("order-latency-p99", "baseline", 0.12, "pass"),
                    objective("order-latency-p99", "fault", 0.93, "fail"),
                    objective("order-latency-p99", "recovery", math.nan, "no_data")],
        recovery=[RecoveryResult(name="latency-back", sli="client:latency_seconds:p99_10s",
                                 fault="kill_replicas orders", fault_end=START + 300,
                                 recovered_at=START + 312.0, seconds=12.0, target_seconds=30,
                                 verdict="pass", key=True, weight=1.0)],
        hpa=[HPAResult(name="analytics-hpa", service="analytics", verdict="not_applicable",
                       scale_out_seconds=None, max_replicas_hit=None, scaled_in=None, flaps=None,
                       detail="local target has no HPA")],
        integrity=IntegrityResult(verdict="fail", acknowledged=12, lost=2, duplicated=0,
                                  violations=2,
                                  detail="reconcile failed: acknowledged_orders_exist"),
        comparison=ComparisonResult(previous_run="../earlier", items=[ComparisonItem(
            name="p99-no-worse", objective="order-latency-p99", phase="fault", previous=0.5,
            current=0.93, change_pct=86.0, verdict="fail", max_worse_pct=20.0)]),
        reasons=["key objective order-latency-p99 failed in phase fault"],
    )


def _reconcile(results: Path) -> None:
    from loadtests.reconcile.result import CheckResult, ReconcileResult, write_result

    exist = CheckResult("acknowledged_orders_exist", "every acknowledged order exists as submitted")
    exist.checked = 12
    exist.add("c-1 acknowledged 201, absent", ["o-1"], ["c-1"])
    exist.add("c-2 acknowledged 201, absent", ["o-2"], ["c-2"])
    ledger = CheckResult("balances_match_ledger", "every balance equals its ledger postings")
    ledger.checked = 4
    write_result(ReconcileResult(checks=[exist, ledger], acknowledged=12, submitted=13,
                                 journals=["journal/orders-1.jsonl"]), results)


def _residue(results: Path) -> None:
    from tradestorm_chaos.drivers.base import ResidueItem
    from tradestorm_chaos.residue import residue_document, write_residue

    write_residue(results / "residue.json", residue_document(
        [ResidueItem("proxy_fault", "postgres", "latency fault still active")]))


def _chaos_journal(results: Path, tmp_path: Path) -> None:
    """A real (tiny) Chaos Toolkit run: a process action, a failing HTTP probe on a closed
    127.0.0.1 port, a steady state that deviates and a rollback."""
    from chaoslib.experiment import run_experiment

    marker = tmp_path / "marker"
    marker.touch()
    exists = {"type": "probe", "name": "marker-exists", "tolerance": True,
              "provider": {"type": "python", "module": "os.path", "func": "exists",
                           "arguments": {"path": str(marker)}}}
    experiment = {
        "version": "1.0.0", "title": "remove the <marker>", "description": "a small real run",
        "steady-state-hypothesis": {"title": "marker there", "probes": [exists]},
        "method": [
            {"type": "action", "name": "remove-marker",
             "provider": {"type": "process", "path": "rm", "arguments": [str(marker)]}},
            {"type": "probe", "name": "gateway-ready",
             "provider": {"type": "http", "timeout": 1,
                          "url": f"http://127.0.0.1:{_closed_port()}/readyz"}},
        ],
        "rollbacks": [{"type": "action", "name": "restore-marker",
                       "provider": {"type": "process", "path": "touch",
                                    "arguments": [str(marker)]}}],
    }
    journal = run_experiment(experiment,
                             settings={"runtime": {"rollbacks": {"strategy": "always"}}})
    assert marker.exists()  # the rollback really ran
    (results / "chaos-journal.json").write_text(json.dumps(journal, default=str))


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("producers")
    results = write_results(tmp / "run")
    (results / "slo.json").write_text(json.dumps(_gate_result().to_dict()))
    _reconcile(results)
    _residue(results)
    _chaos_journal(results, tmp)
    return results


@pytest.fixture(scope="module")
def soup(produced: Path):
    return soup_of(build_report(produced))


def test_gate_slo_json(soup):
    assert soup.find(id="verdict").find(class_="big").get_text(strip=True) == "fail"
    assert "64.25" in soup.find(id="verdict").get_text()
    fault = soup.find(id="slo-v-fault").find_next("table").get_text(" ", strip=True)
    assert "930 ms" in fault and "fail" in fault
    recovery = soup.find(id="slo-v-recovery").find_next("table").get_text(" ", strip=True)
    assert "no data" in recovery  # NaN became null in slo.json
    rec = soup.find(id="recovery").find_next("table").get_text(" ", strip=True)
    assert "kill_replicas orders" in rec and "12 s" in rec
    relative = soup.find("table", class_="relative").get_text(" ", strip=True)
    assert "p99-no-worse" in relative and "86 %" in relative
    assert [li.get_text() for li in soup.find_all("li", class_="reason")] == [
        "key objective order-latency-p99 failed in phase fault"]


def test_reconcile_json(soup):
    assert soup.find(id="lost-count").get_text(strip=True) == "2"
    ids = [td.get_text() for td in soup.find("table", class_="offending").find_all(
        class_="order-id")]
    assert ids == ["o-1", "o-2"]
    checks = soup.find("table", class_="checks").get_text(" ", strip=True)
    assert "balances_match_ledger ok 4 0" in checks


def test_residue_json(soup):
    assert "proxy_fault postgres latency fault still active" in soup.find(
        "table", class_="residue").get_text(" ", strip=True)


def test_real_chaos_toolkit_journal(soup):
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in soup.find("table", class_="activities").find("tbody").find_all("tr")]
    by_name = {r[1].split()[1]: r for r in rows if r[0] in ("method", "rollback")}
    assert by_name["remove-marker"][5].startswith("succeeded")
    assert "process rm" in by_name["remove-marker"][1]
    assert by_name["gateway-ready"][5].startswith("failed")
    assert "ActivityFailed: failed to connect" in by_name["gateway-ready"][6]
    assert by_name["restore-marker"][0] == "rollback"
    assert [r[0] for r in rows].count("steady state before") == 1
    summary = soup.find(id="experiment").find_next("p").get_text(" ", strip=True)
    assert "remove the <marker>" in summary and "deviated" in summary
    assert "after: NOT met" in summary
    assert len(soup.find("svg", class_="timeline").find_all("rect", class_="bar")) == len(rows)
