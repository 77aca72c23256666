"""A realistic results folder, written exactly as contracts §4 says, for the report's tests
and benchmark.

No real run exists yet while the runner, gate and chaos parts are being built,
so this writes what one would leave behind: a 10-minute run at 1 s resolution
(baseline, a fault window, a recovery), Prometheus series for every panel,
the gate's slo.json with a few failures, reconcile.json (with lost orders, or
clean), a Chaos Toolkit journal in chaoslib's own structure (steady states,
actions, probes, rollbacks), the residue audit and Locust's three CSV files with
Locust's real column names.
"""

from __future__ import annotations

import csv
import json
import math
import random
from datetime import UTC, datetime
from pathlib import Path

START = 1763798400.0  # 2025-11-22T08:00:00Z
SERVICES = ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics")
# locust.stats.PERCENTILES_TO_REPORT through get_readable_percentiles (checked against
# Locust itself in test_report_locust.py)
PERCENTILE_COLUMNS = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%",
                      "99.99%", "100%"]
STATS_COLUMNS = ["Type", "Name", "Request Count", "Failure Count", "Median Response Time",
                 "Average Response Time", "Min Response Time", "Max Response Time",
                 "Average Content Size", "Requests/s", "Failures/s", *PERCENTILE_COLUMNS]
HISTORY_COLUMNS = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s",
                   *PERCENTILE_COLUMNS, "Total Request Count", "Total Failure Count",
                   "Total Median Response Time", "Total Average Response Time",
                   "Total Min Response Time", "Total Max Response Time",
                   "Total Average Content Size"]
FAILURE_COLUMNS = ["Method", "Name", "Error", "Occurrences", "First Seen", "Last Seen"]
ENDPOINTS = (("POST", "/v1/orders", 0.45), ("GET", "/v1/orders/[id]", 0.15),
             ("DELETE", "/v1/orders/[id]", 0.05), ("GET", "/v1/portfolio", 0.12),
             ("GET", "/v1/marketdata/quotes/[symbol]", 0.18),
             ("GET", "/v1/analytics/risk/[symbol]", 0.05))
LOST_ORDER_IDS = ["6f1c2a9e-3b7d-4e21-9a51-0c8f7d2b4e11", "a02e9b4c-58f1-4c3a-b7e2-91d4c6f0a833",
                  "d4b7e1f0-2c9a-4b6e-8f13-5a7c0e9d2b44"]
LOST_CLIENT_IDS = ["lt-0007-000184", "lt-0012-000191", "lt-0003-000202"]
HOSTILE = '<script>alert("x")</script><img src="https://evil.example/x.png">'


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def write_results(
    results_dir: Path,
    *,
    scenario: str = "pod-kill-orders",
    started_at: float = START,
    duration_s: int = 600,
    step_s: float = 1.0,
    lost_orders: bool = True,
    seed: int = 7,
    hostile: bool = False,
    score: float | None = None,
) -> Path:
    """Write a results folder. ``lost_orders=True``: the failing case (SLO failures, three
    lost orders, a deviated experiment, residue left); ``False``: the clean case."""
    rng = random.Random(seed)
    results_dir.mkdir(parents=True, exist_ok=True)
    t0, t_end = started_at, started_at + duration_s
    fault_start, fault_end = t0 + duration_s * 0.3, t0 + duration_s * 0.5
    lat_start, lat_end = fault_start + duration_s / 30, fault_start + duration_s * 0.13
    scenario_name = scenario + (HOSTILE if hostile else "")
    run_id = datetime.fromtimestamp(t0, UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{scenario}"
    faults = [
        {"action": "kill_replicas", "target": "orders", "args": {"count": 1, "signal": "SIGKILL"},
         "start": fault_start, "end": fault_end},
        {"action": "add_latency", "target": "postgres",
         "args": {"latency_ms": 300, "jitter_ms": 50},
         "start": lat_start, "end": lat_end},
    ]
    _dump(results_dir / "run.json", {
        "schema": 1, "run_id": run_id, "scenario": scenario_name, "target": "local",
        "started_at": t0, "ended_at": t_end, "status": "completed",
        "phases": [{"name": "baseline", "start": t0, "end": fault_start},
                   {"name": "fault", "start": fault_start, "end": fault_end},
                   {"name": "recovery", "start": fault_end, "end": t_end}],
        "faults": faults,
        "load": {"profile": "steady", "users": 20},
        "prometheus_url": "http://127.0.0.1:39091",
        "versions": {"tradestorm": "0.1.0", "python": "3.11.7", "locust": "2.47.0",
                     "chaostoolkit": "1.19.0", "prometheus": "2.42.0", "postgres": "18.1"},
    })
    (results_dir / "scenario.yaml").write_text(f"name: {scenario}\nprofile: steady\n",
                                               encoding="utf-8")
    _write_timeseries(results_dir, rng, t0, t_end, step_s, fault_start, fault_end, lat_start,
                      lat_end, lost_orders)
    _write_slo(results_dir, t0, t_end, fault_end, lost_orders, hostile, score)
    _write_reconcile(results_dir, lost_orders)
    _write_journal(results_dir, t0, fault_start, fault_end, lat_start, lat_end, lost_orders,
                   hostile)
    _dump(results_dir / "residue.json", {"clean": not lost_orders, "items": [] if not lost_orders
          else [{"kind": "proxy_fault", "target": "postgres",
                 "detail": "latency fault f-0012 still listed 4 s after rollback"}]})
    _write_locust(results_dir, rng, t0, t_end, fault_start, fault_end, lost_orders, hostile)
    return results_dir


def _write_timeseries(results_dir, rng, t0, t_end, step_s, fault_start, fault_end, lat_start,
                      lat_end, lost_orders) -> None:
    n = int(round((t_end - t0) / step_s)) + 1
    times = [t0 + i * step_s for i in range(n)]
    severity = 1.0 if lost_orders else 0.4

    def in_fault(t: float, settle: float = 20.0) -> float:
        """1 right after the fault starts, decaying as the platform copes; 0 outside."""
        if fault_start <= t < fault_end:
            return math.exp(-(t - fault_start) / settle)
        return 0.0

    def lat(t: float) -> float:
        return 1.0 if lat_start <= t < lat_end else 0.0

    series = []

    def add(panel: str, name: str, unit: str, fn, labels=None, gaps=()) -> None:
        points = []
        for t in times:
            value = None if any(a <= t - t0 < b for a, b in gaps) else fn(t)
            points.append([t, None if value is None else round(value, 6)])
        series.append({"panel": panel, "name": name, "unit": unit, "labels": labels or {},
                       "query": f"tradestorm:{panel}:{name}", "points": points})

    add("throughput", "client", "req/s",
        lambda t: max(0.0, 82 + rng.gauss(0, 3) - 35 * severity * in_fault(t)), gaps=((420, 424),))
    add("throughput", "server", "req/s",
        lambda t: max(0.0, 80 + rng.gauss(0, 3) - 34 * severity * in_fault(t)))
    add("error_rate", "client", "ratio",
        lambda t: max(0.0, 0.002 + abs(rng.gauss(0, 0.001)) + 0.09 * severity * in_fault(t, 8)
                      + 0.01 * lat(t)))
    add("error_rate", "server", "ratio",
        lambda t: max(0.0, 0.001 + abs(rng.gauss(0, 0.0008)) + 0.07 * severity * in_fault(t, 8)))
    for side, base in (("client", 1.15), ("server", 1.0)):
        for q, mult in (("p50", 1.0), ("p95", 2.6), ("p99", 4.1)):
            add("latency", f"{side}_{q}", "s",
                lambda t, base=base, mult=mult: base * mult * (0.012 + abs(rng.gauss(0, 0.002)))
                + mult * 0.05 * severity * in_fault(t) + mult * 0.09 * lat(t))
    for service in SERVICES:
        def ready(t: float, service=service) -> float:
            if service == "orders" and fault_start <= t < fault_start + 16:
                return 1
            if service == "orders" and fault_start + 60 <= t < fault_start + 71:
                return 1
            return 2
        add("replicas_ready", service, "replicas", ready, labels={"service": service})
    add("database_up", "postgres", "", lambda t: 1.0, gaps=((400, 405),))
    add("outbox_lag", "orders", "s",
        lambda t: (min(14.0, (t - fault_start) * 0.25) if fault_start <= t < fault_end
                   else max(0.0, 14.0 - (t - fault_end) * 0.7) if fault_end <= t < fault_end + 20
                   else 0.0) * severity)
    _dump(results_dir / "timeseries.json", {"schema": 1, "start": t0, "end": t_end,
                                            "step_seconds": step_s, "series": series})


def _objective(name, phase, value, op, target, warning, verdict, unit, side="client",
               detail="", key=True) -> dict:
    return {"name": name, "description": f"{name.replace('-', ' ')} during {phase}",
            "phase": phase, "side": side, "query": f"tradestorm:{name}:{phase}", "value": value,
            "unit": unit, "op": op, "target": target, "warning": warning, "verdict": verdict,
            "key": key, "weight": 1, "detail": detail}


def _write_slo(results_dir, t0, t_end, fault_end, lost_orders, hostile, score) -> None:
    objectives = []
    for phase in ("baseline", "fault", "recovery"):
        bad = lost_orders and phase == "fault"
        objectives += [
            _objective("order-latency-p99", phase, 0.91 if bad else 0.118, "<=", 0.25, 0.2,
                       "fail" if bad else "pass", "s"),
            _objective("order-error-ratio", phase, 0.031 if bad else 0.0021, "<=", 0.01, 0.005,
                       "fail" if bad else "pass", "ratio"),
            _objective("order-throughput", phase, 61.0 if bad else 81.5, ">=", 50, 60,
                       "pass", "req/s"),
            _objective("server-latency-p99", phase, 0.47 if bad else 0.081, "<=", 0.5, 0.3,
                       "warning" if bad else "pass", "s", side="server"),
        ]
    objectives.append(_objective("outbox-lag-max", "run", 14.0 if lost_orders else 5.6, "<=",
                                 30, 10, "warning" if lost_orders else "pass", "s",
                                 side="server"))
    objectives.append(_objective("analytics-latency-p95", "run", None, "<=", 1.0, None, "no_data",
                                 "s", side="server", key=False,
                                 detail="no sample in the window" + (HOSTILE if hostile else "")))
    recovered = fault_end + (11.0 if lost_orders else 6.0)
    _dump(results_dir / "slo.json", {
        "schema": 1, "verdict": "fail" if lost_orders else "pass",
        "exit_code": 1 if lost_orders else 0,
        "score": score if score is not None else (71.5 if lost_orders else 97.0),
        "spec": "slo/specs/reference-platform.yaml", "evaluated_at": t_end + 45,
        "prometheus_url": "http://127.0.0.1:39091", "window": {"start": t0, "end": t_end},
        "objectives": objectives,
        "reasons": (["key objective order-latency-p99 failed in phase fault",
                     "3 acknowledged orders lost"] if lost_orders else []),
        "error": None,
        "recovery": [
            {"name": "orders-error-ratio", "sli": "tradestorm:order_error_ratio:rate30s",
             "fault": "kill_replicas orders",
             "fault_end": fault_end, "recovered_at": recovered, "seconds": recovered - fault_end,
             "target_seconds": 30, "verdict": "pass"},
            {"name": "orders-latency-p99", "sli": "tradestorm:order_latency_p99:30s",
             "fault": "kill_replicas orders",
             "fault_end": fault_end, "recovered_at": None if lost_orders else fault_end + 9,
             "seconds": None if lost_orders else 9.0, "target_seconds": 30,
             "verdict": "fail" if lost_orders else "pass"},
        ],
        "hpa": [{"name": "analytics-scale-out", "service": "analytics", "verdict": "not_applicable",
                 "scale_out_seconds": None, "max_replicas_hit": None, "scaled_in": None,
                 "flaps": None, "detail": "local target has no HPA"}],
        "integrity": {"verdict": "fail" if lost_orders else "pass", "acknowledged": 48213,
                      "lost": 3 if lost_orders else 0, "duplicated": 0,
                      "violations": 3 if lost_orders else 0},
        "comparison": {"previous_run": None, "items": []},
    })


def _write_reconcile(results_dir, lost_orders) -> None:
    """reconcile.json as ``loadtests.reconcile.ReconcileResult.to_dict`` writes it."""
    lost = len(LOST_ORDER_IDS) if lost_orders else 0
    checks = [
        ("acknowledged_orders_exist", lost, 48213,
         "every acknowledged order exists as submitted"),
        ("acknowledged_orders_unique", 0, 48213,
         "every acknowledged client order id maps to exactly one order"),
        ("no_phantom_orders", 0, 48590,
         "no order of a load account exists that was never submitted"),
        ("trades_balanced", 0, 20344, "one BUY and one SELL fill per trade"),
        ("positions_match_fills", 0, 120, "every balance equals deposits plus the fills"),
        ("balances_match_ledger", 0, 120, "every balance equals its ledger postings"),
        ("assets_conserved", 0, 6, "every asset sums to zero over all accounts"),
        ("outbox_drained", 0, 1, "the outbox drained (waited 0.4s)"),
    ]
    violations = [
        {"check": "acknowledged_orders_exist", "order_ids": [order_id],
         "client_order_ids": [client_id],
         "detail": f"{client_id} acknowledged 201 at T+3:0{i}, absent from orders"}
        for i, (order_id, client_id) in enumerate(zip(LOST_ORDER_IDS, LOST_CLIENT_IDS, strict=True))
    ] if lost_orders else []
    _dump(results_dir / "reconcile.json", {
        "schema": 1, "ok": not lost_orders, "conclusive": True, "acknowledged": 48213,
        "submitted": 48590, "lost": lost, "duplicated": 0, "phantom": 0,
        "journals": ["journal/orders-4211.jsonl"], "window_start": None,
        "outbox": {"drained": True, "waited_s": 0.4}, "warnings": [],
        "checks": [{"name": n, "ok": v == 0, "violations": v, "checked": c,
                    "detail": d if v == 0 else f"{d}: {v} violation(s)"}
                   for n, v, c, d in checks],
        "violations": violations, "violations_truncated": False,
    })


def _activity_run(kind, name, provider, start, seconds, status="succeeded", output=None,
                  exception=None, tolerance=None) -> dict:
    activity = {"type": kind, "name": name, "provider": provider}
    if tolerance is not None:
        activity["tolerance"] = tolerance
    run = {"activity": activity, "output": output, "start": iso(start), "status": status,
           "end": iso(start + seconds), "duration": seconds}
    if exception is not None:
        run["exception"] = exception
    if kind == "probe" and tolerance is not None:
        run["tolerance_met"] = status == "succeeded"
    return run


def _write_journal(results_dir, t0, fault_start, fault_end, lat_start, lat_end, lost_orders,
                   hostile) -> None:
    ready_probe = {"type": "http", "url": "http://127.0.0.1:38080/readyz", "method": "GET",
                   "timeout": 3}
    slo_probe = {"type": "python", "module": "tradestorm_chaos.probes", "func": "slo_holds",
                 "arguments": {"objective": "order-error-ratio"}}
    kill = {"type": "python", "module": "tradestorm_chaos.actions", "func": "kill_replicas",
            "arguments": {"service": "orders", "count": 1}}
    latency = {"type": "python", "module": "tradestorm_chaos.actions", "func": "add_latency",
               "arguments": {"service": "postgres", "latency_ms": 300, "duration_s": 60}}
    replicas = {"type": "python", "module": "tradestorm_chaos.probes", "func": "ready_replicas",
                "arguments": {"service": "orders"}}
    before = [
        _activity_run("probe", "gateway-ready", ready_probe, fault_start - 2, 0.05,
                      output={"status": 200, "body": {"ready": True}}, tolerance=200),
        _activity_run("probe", "order-error-ratio-holds", slo_probe, fault_start - 1.9, 0.2,
                      output=True, tolerance=True),
    ]
    method = [
        _activity_run("action", "kill-one-orders-replica", kill, fault_start, 0.4,
                      output={"killed": [{"name": "orders-0", "pid": 41234}]}),
        _activity_run("action", "slow-database", latency, lat_start, 0.1,
                      output={"id": "f-0012", "expires_at": lat_end}),
        _activity_run("probe", "orders-replicas-during-fault", replicas, fault_start + 5, 0.05,
                      output=1),
    ]
    after_status = "failed" if lost_orders else "succeeded"
    after = [
        _activity_run("probe", "gateway-ready", ready_probe, fault_end + 1, 0.05,
                      output={"status": 200, "body": {"ready": True}}, tolerance=200),
        _activity_run("probe", "order-error-ratio-holds", slo_probe, fault_end + 1.1, 0.2,
                      status=after_status, output=False if lost_orders else True, tolerance=True,
                      exception=["chaoslib.exceptions.ActivityFailed: error ratio 0.031 > 0.01"
                                 + (HOSTILE if hostile else "") + "\n"] if lost_orders else None),
    ]
    rollbacks = [
        _activity_run("action", "clear-proxy-faults", {"type": "python",
                      "module": "tradestorm_chaos.actions", "func": "clear_faults",
                      "arguments": {"service": "postgres"}}, fault_end + 2, 0.1,
                      output={"removed": 1}),
        _activity_run("action", "wait-for-replicas", {"type": "python",
                      "module": "tradestorm_chaos.actions", "func": "wait_ready",
                      "arguments": {"service": "orders", "timeout_s": 60}}, fault_end + 2.2, 1.3,
                      output={"ready": 2}),
    ]
    experiment = {"title": "Kill an orders replica while the database is slow",
                  "description": "orders must keep acknowledged orders durable",
                  "steady-state-hypothesis": {"title": "orders healthy",
                                              "probes": [r["activity"] for r in before]},
                  "method": [r["activity"] for r in method],
                  "rollbacks": [r["activity"] for r in rollbacks]}
    _dump(results_dir / "chaos-journal.json", {
        "chaoslib-version": "1.44.0", "platform": "Linux-6.1.0-x86_64", "node": "ci-runner",
        "experiment": experiment, "start": iso(fault_start - 2.5), "end": iso(fault_end + 4),
        "duration": fault_end + 6.5 - fault_start, "status": "completed",
        "deviated": lost_orders,
        "steady_states": {"before": {"steady_state_met": True, "probes": before},
                          "after": {"steady_state_met": not lost_orders, "probes": after},
                          "during": []},
        "run": method, "rollbacks": rollbacks,
        # tradestorm_chaos.execution adds its own section to Chaos Toolkit's journal
        "tradestorm": {"status": "failed" if lost_orders else "completed",
                       "chaostoolkit_status": "completed", "deviated": lost_orders,
                       "residue_clean": not lost_orders,
                       "steady_state_after_rollbacks": {"steady_state_met": True, "probes": [
                           _activity_run("probe", "gateway-ready", ready_probe, fault_end + 4.5,
                                         0.05, output={"status": 200}, tolerance=200)]}},
    })
    _dump(results_dir / "experiment.json", experiment)


def _write_locust(results_dir, rng, t0, t_end, fault_start, fault_end, lost_orders,
                  hostile) -> None:
    duration = t_end - t0
    total_rps = 82.0
    rows = []
    tot_req = tot_fail = 0
    for method, name, share in ENDPOINTS:
        requests = int(total_rps * share * duration)
        failures = int(requests * (0.012 if lost_orders else 0.003)) if method != "GET" else \
            int(requests * 0.001)
        median = 14 if method == "GET" else 31
        pct = [median, median + 3, median + 5, median + 7, median + 16, median + 34, median + 80,
               median + (420 if lost_orders else 90), 1800, 2400, 2950]
        rows.append([method, name, requests, failures, median, round(median * 1.4, 2), 3,
                     pct[-1], 412.5, round(requests / duration, 2), round(failures / duration, 4),
                     *pct])
        tot_req += requests
        tot_fail += failures
    rows.append(["", "Aggregated", tot_req, tot_fail, 18, 27.3, 3, 2950, 390.1,
                 round(tot_req / duration, 2), round(tot_fail / duration, 4),
                 18, 21, 24, 27, 38, 61, 120, 410 if lost_orders else 110, 1800, 2400, 2950])
    with (results_dir / "locust_stats.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(STATS_COLUMNS)
        writer.writerows(rows)

    with (results_dir / "locust_stats_history.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HISTORY_COLUMNS)
        cumulative = cumulative_fail = 0
        for i in range(int(duration) + 1):
            t = t0 + i
            hit = fault_start <= t < fault_start + 20
            rps = max(0.0, total_rps + rng.gauss(0, 2.5) - (30 if hit else 0))
            fps = rps * (0.09 if hit and lost_orders else 0.003)
            cumulative += int(rps)
            cumulative_fail += int(fps)
            if i == 0:
                writer.writerow([int(t), 0, "", "Aggregated", "0.000000", "0.000000",
                                 *(["N/A"] * len(PERCENTILE_COLUMNS)), 0, 0, 0, 0.0, 0, 0, 0.0])
                continue
            p50 = 18 + (30 if hit else 0)
            writer.writerow([int(t), 20, "", "Aggregated", f"{rps:2f}", f"{fps:2f}", p50, p50 + 3,
                             p50 + 6, p50 + 9, p50 + 20, p50 + 43 + (300 if hit else 0),
                             p50 + 100, p50 + 120 + (700 if hit else 0), 1500, 1800, 2000,
                             cumulative, cumulative_fail, 18, 27.3, 3, 2950, 390.1])

    failure_rows = [
        ["POST", "/v1/orders", "HTTPError('503 Server Error: Service Unavailable for url: "
         "http://127.0.0.1:38080/v1/orders')", 412 if lost_orders else 64,
         datetime.fromtimestamp(fault_start + 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
         datetime.fromtimestamp(fault_start + 19, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")],
        ["GET", "/v1/portfolio", "RemoteDisconnected('Remote end closed connection without "
         "response')" + (HOSTILE if hostile else ""), 7,
         datetime.fromtimestamp(fault_start + 2, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
         datetime.fromtimestamp(fault_start + 4, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")],
    ]
    with (results_dir / "locust_failures.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FAILURE_COLUMNS)
        writer.writerows(failure_rows)
