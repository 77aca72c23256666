"""The report of a run shows what a reviewer needs, from the results folder alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fixture_results import ENDPOINTS, LOST_CLIENT_IDS, LOST_ORDER_IDS
from report_html import external_urls, soup_of

from reports.build import build_report

CHART_PANELS = ("throughput", "error_rate", "latency_client", "latency_server",
                "replicas_ready", "database_up", "outbox_lag")


@pytest.fixture(scope="module")
def failing_report(failing_run: Path) -> Path:
    return build_report(failing_run)


@pytest.fixture(scope="module")
def clean_report(clean_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(clean_run, tmp_path_factory.mktemp("out") / "nested" / "clean.html")


def test_default_output_is_report_html_in_the_results_folder(failing_run, failing_report):
    assert failing_report == failing_run / "report.html"
    assert failing_report.stat().st_size > 10_000


def test_output_option_writes_where_asked(clean_report):
    assert clean_report.name == "clean.html" and clean_report.is_file()
    assert not (clean_report.parent / "report.html").exists()


def test_verdict_score_and_run_facts_at_the_top(failing_report):
    soup = soup_of(failing_report)
    header = soup.find("header", id="summary")
    verdict = header.find(id="verdict")
    assert verdict.find(class_="big").get_text(strip=True) == "fail"
    assert "71.5" in verdict.get_text()
    text = header.get_text(" ", strip=True)
    for fact in ("pod-kill-orders", "local", "10 min", "2025-11-22 08:00:00 UTC",
                 "locust 2.47.0", "prometheus 2.42.0", "kill_replicas orders at T+3:00",
                 "baseline 3 min → fault 2 min → recovery 5 min"):
        assert fact in text, fact
    assert soup.title.get_text().startswith("FAIL")


def test_headline_names_the_failed_objectives_and_lost_orders(failing_report):
    soup = soup_of(failing_report)
    reasons = [li.get_text(strip=True) for li in soup.find_all("li", class_="reason")]
    assert reasons == ["key objective order-latency-p99 failed in phase fault",
                       "3 acknowledged orders lost"]
    headline = soup.find(id="headline").get_text(" ", strip=True)
    assert "2 failed" in headline and "order-latency-p99" in headline
    assert "3 lost" in headline
    assert "not recovered" in headline
    assert "NOT clean" in headline


def test_every_panel_is_a_chart_with_both_fault_windows_shaded_and_labelled(failing_report):
    soup = soup_of(failing_report)
    for key in CHART_PANELS:
        panel = soup.find(id=f"panel-{key}")
        assert panel is not None, key
        svg = panel.find("svg", class_="chart")
        faults = svg.find_all("rect", class_="fault")
        assert len(faults) == 2, key
        labels = [t.get_text() for t in svg.find_all("text", class_="fault-label")]
        assert labels == ["kill_replicas orders", "add_latency postgres"], key
        assert svg.find_all("polyline", class_="series"), f"{key}: nothing drawn"
        assert "no data" not in svg.get_text()


def test_fault_window_is_placed_at_its_time(failing_report):
    """kill_replicas runs from 3:00 to 5:00 of a 10-minute run: 30 % to 50 % of the axis."""
    svg = soup_of(failing_report).find(id="panel-throughput").find("svg")
    plot = svg.find("rect", class_="plot")
    left, width = float(plot["x"]), float(plot["width"])
    fault = svg.find("rect", class_="fault")
    start = (float(fault["x"]) - left) / width
    span = float(fault["width"]) / width
    assert start == pytest.approx(0.3, abs=0.005) and span == pytest.approx(0.2, abs=0.005)


def test_latency_charts_split_client_and_server_percentiles(failing_report):
    soup = soup_of(failing_report)
    client = [t.get_text() for t in soup.find(id="panel-latency_client").find_all("title")]
    server = [t.get_text() for t in soup.find(id="panel-latency_server").find_all("title")]
    assert {"client_p50", "client_p95", "client_p99"} <= set(client)
    assert {"server_p50", "server_p95", "server_p99"} <= set(server)
    assert not any(name.startswith("server") for name in client)


def test_replicas_chart_has_one_line_per_service(failing_report):
    legend = soup_of(failing_report).find(id="panel-replicas_ready").find(class_="legend")
    text = legend.get_text(" ", strip=True)
    for service in ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics"):
        assert service in text
    assert "orders max 2 replicas" in text


def test_slo_table_per_phase_with_measured_objective_and_verdict(failing_report):
    soup = soup_of(failing_report)
    fault = soup.find(id="slo-v-fault").find_next("table")
    rows = {}
    for tr in fault.find("tbody").find_all("tr"):
        cells = [td.get_text(" ", strip=True) for td in tr.find_all("td")]
        rows[cells[0].split()[0]] = cells
    assert rows["order-latency-p99"][2:5] == ["910 ms", "≤ 250 ms (warn ≤ 200 ms)", "fail"]
    assert rows["order-error-ratio"][2:5] == ["3.1 %", "≤ 1 % (warn ≤ 0.5 %)", "fail"]
    assert rows["server-latency-p99"][4] == "warning"
    assert soup.find(id="slo-v-baseline") and soup.find(id="slo-v-recovery")
    run_table = soup.find(id="slo-v-run").find_next("table").get_text(" ", strip=True)
    assert "no data" in run_table and "no_data" in run_table


def test_recovery_times(failing_report):
    table = soup_of(failing_report).find(id="recovery").find_next("table")
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in table.find("tbody").find_all("tr")]
    assert rows[0][:2] == ["orders-error-ratio", "kill_replicas orders"]
    assert rows[0][3:8] == ["T+5:00", "T+5:11", "11 s", "≤ 30 s", "pass"]
    assert rows[1][4:6] == ["never", "not recovered"] and rows[1][7] == "fail"


def test_lost_orders_are_listed(failing_report):
    soup = soup_of(failing_report)
    assert soup.find(id="lost-count").get_text(strip=True) == "3"
    offending = soup.find("table", class_="offending")
    assert [td.get_text() for td in offending.find_all(class_="order-id")] == LOST_ORDER_IDS
    assert [td.get_text() for td in offending.find_all(
        class_="client-order-id")] == LOST_CLIENT_IDS
    assert "acknowledged_orders_exist 3 violations" in offending.find_previous(
        "h4").get_text(" ", strip=True)
    checks = soup.find("table", class_="checks").get_text(" ", strip=True)
    assert "balances_match_ledger ok 120 0" in checks
    assert "acknowledged_orders_exist violated 48,213 3" in checks


def test_clean_run_lists_no_offending_order(clean_report):
    soup = soup_of(clean_report)
    assert soup.find(id="verdict").find(class_="big").get_text(strip=True) == "pass"
    assert soup.find(id="offending") is None
    assert soup.find(id="lost-count").get_text(strip=True) == "0"
    assert "Every acknowledged order is in the database exactly once" in soup.get_text()
    assert "clean" in soup.find(id="residue").find_next("p").get_text()


def test_experiment_timeline_from_the_chaos_journal(failing_report):
    soup = soup_of(failing_report)
    section = soup.find(id="experiment").find_next("table", class_="activities")
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in section.find("tbody").find_all("tr")]
    stages = [r[0] for r in rows]
    assert stages[-3:-1] == ["rollback", "rollback"]
    assert stages[0] == "steady state before"
    assert stages[-1] == "steady state after rollbacks"
    assert stages.count("rollback") == 2
    kill = next(r for r in rows if "kill-one-orders-replica" in r[1])
    assert kill[2] == "T+3:00" and kill[5].startswith("succeeded")
    assert "tradestorm_chaos.actions.kill_replicas" in kill[1]
    failed = next(r for r in rows if r[0] == "steady state after" and "failed" in r[5])
    assert "error ratio 0.031 > 0.01" in failed[6]
    summary = soup.find(id="experiment").find_next("p").get_text(" ", strip=True)
    assert "status failed" in summary and "(Chaos Toolkit said completed)" in summary
    assert "after the rollbacks: met" in summary
    bars = soup.find("svg", class_="timeline").find_all("rect", class_="bar")
    assert len(bars) == len(rows)
    residue = soup.find("table", class_="residue").get_text(" ", strip=True)
    assert "proxy_fault postgres latency fault f-0012" in residue


def test_locust_statistics_per_endpoint(failing_report):
    table = soup_of(failing_report).find("table", class_="locust")
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in table.find("tbody").find_all("tr")]
    assert [(r[0], r[1]) for r in rows[:-1]] == [(m, n) for m, n, _ in ENDPOINTS]
    assert rows[-1][1] == "Aggregated" and rows[-1][2] == "49,199"
    assert rows[0][2:5] == ["22,140", "265", "1.2 %"]
    failures = soup_of(failing_report).find("table", class_="failures").get_text(" ", strip=True)
    assert "503 Server Error" in failures and "412" in failures


def test_no_previous_run_says_so(failing_report):
    assert "nothing to compare with" in soup_of(failing_report).find(
        id="comparison").find_next("p").get_text()


def test_self_contained_no_external_reference(failing_report, clean_report):
    for report in (failing_report, clean_report):
        html = report.read_text(encoding="utf-8")
        soup = soup_of(report)
        assert external_urls(html) == []
        assert soup.find_all("script") == [] and soup.find_all("link") == []
        assert soup.find_all(["img", "iframe", "object", "embed", "audio", "video"]) == []
        assert all(a["href"].startswith("#") for a in soup.find_all("a", href=True))
        assert not re.search(r"url\(|@import|@font-face", html)
        assert not any(tag.get("src") for tag in soup.find_all(True))
        csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
        assert csp["content"].startswith("default-src 'none'")


def test_appendix_lists_the_results_files(failing_report):
    table = soup_of(failing_report).find("table", class_="files").get_text(" ", strip=True)
    for name in ("run.json", "slo.json", "chaos-journal.json", "locust_stats.csv"):
        assert name in table


def test_each_chart_names_its_queries(failing_report):
    queries = soup_of(failing_report).find(id="panel-outbox_lag").find("details", class_="queries")
    assert queries.find("code").get_text() == "tradestorm:outbox_lag:orders"


def test_a_worker_restarted_mid_run_is_shown_not_hidden(fresh_run):
    import json

    folder = fresh_run("events")
    run = json.loads((folder / "run.json").read_text())
    started = run["started_at"]
    run.setdefault("stages", {})["load"] = {"ok": True, "events": [
        {"t": started + 75, "kind": "worker-restarted", "pod": "tradestorm-load-x-worker-abcde",
         "detail": "container restarted (OOMKilled)"}]}
    (folder / "run.json").write_text(json.dumps(run))
    text = soup_of(build_report(folder)).get_text(" ", strip=True)
    assert "load events" in text
    assert "worker-restarted tradestorm-load-x-worker-abcde at T+1:15" in text
    assert "OOMKilled" in text


def test_hpa_chart_plots_desired_against_current_only_where_there_are_hpas(fresh_run):
    import json

    folder = fresh_run("hpa")
    assert "desired against current" not in build_report(folder).read_text()  # none: no chart
    ts = json.loads((folder / "timeseries.json").read_text())
    grid = [t for t, _ in ts["series"][0]["points"]]
    for name, value in (("analytics desired", 4.0), ("analytics current", 2.0)):
        ts["series"].append({"panel": "hpa_replicas", "name": name, "unit": "replicas",
                             "labels": {"series": name}, "query": "q",
                             "points": [[t, value] for t in grid]})
    (folder / "timeseries.json").write_text(json.dumps(ts))
    html = build_report(folder).read_text()
    assert "HPA replicas, desired against current" in html
    assert "analytics desired" in html and "analytics current" in html


def test_latency_table_shows_the_route_classes_apart(fresh_run):
    """Per-class latency objectives (slo.json ``route_class``): one row per class and side,
    order entry first, each measured against its own objective in every phase."""
    import json

    folder = fresh_run("classes")
    slo = json.loads((folder / "slo.json").read_text())

    def objective(name, route_class, side, phase, value, target, verdict, key=False):
        return {"name": f"{name}[{route_class}]", "route_class": route_class, "side": side,
                "phase": phase, "value": value, "unit": "s", "op": "<=", "target": target,
                "warning": None, "verdict": verdict, "key": key, "weight": 1, "detail": "",
                "description": "", "query": "route_class:client_latency_seconds:p99_10s"}

    for phase, oe, an in (("baseline", 0.042, 1.1), ("fault", 1.9, 2.2), ("recovery", 0.05, 1.2)):
        slo["objectives"] += [
            objective("client-latency-p99", "analytics", "client", phase, an, 1.5,
                      "pass" if an <= 1.5 else "fail"),
            objective("client-latency-p99", "order-entry", "client", phase, oe, 0.25,
                      "pass" if oe <= 0.25 else "fail", key=True),
        ]
    (folder / "slo.json").write_text(json.dumps(slo))
    soup = soup_of(build_report(folder))
    table = soup.find(id="latency-by-class").find_next("table")
    header = [th.get_text(strip=True) for th in table.find("thead").find_all("th")]
    assert header == ["route class", "side", "baseline", "fault", "recovery"]
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in table.find("tbody").find_all("tr")]
    assert [r[0].split()[0] for r in rows] == ["order-entry", "analytics"]
    assert "(key)" in rows[0][0] and "client-latency-p99[order-entry]" in rows[0][0]
    windows = " 10 s windows (Prometheus)"  # what each figure was judged on
    assert rows[0][2] == "42 ms ≤ 250 ms pass" + windows
    assert rows[0][3] == "1.9 s ≤ 250 ms fail" + windows
    assert rows[1][2] == "1.1 s ≤ 1.5 s pass" + windows


def test_a_relative_objective_shows_its_ratio_and_interval(fresh_run):
    import json

    folder = fresh_run("relative")
    slo = json.loads((folder / "slo.json").read_text())
    first = slo["objectives"][0]
    first.update(name="p99-vs-baseline", phase="fault", value=4.02, unit="×", op="<=",
                 target=3.0, warning=2.0, verdict="fail", relative_to="baseline",
                 reference_value=0.1, interval=[3.61, 4.4])
    (folder / "slo.json").write_text(json.dumps(slo))
    text = soup_of(build_report(folder)).get_text(" ", strip=True)
    assert "4.02× baseline (95 % 3.61–4.4×)" in text
    assert "≤ 3× baseline (warn ≤ 2×)" in text


def test_a_hole_in_a_series_is_drawn_on_its_chart(fresh_run):
    import json

    folder = fresh_run("holes")
    doc = json.loads((folder / "timeseries.json").read_text())
    client = next(s for s in doc["series"] if s["panel"] == "throughput"
                  and s["name"] == "client")
    start = doc["start"]
    client["holes"] = [[start + 15, start + 45]]
    (folder / "timeseries.json").write_text(json.dumps(doc))
    soup = soup_of(build_report(folder))
    holes = soup.select("svg rect.hole")
    assert len(holes) == 1
    assert holes[0].find("title").get_text() == "no samples of client (0:15–0:45)"


def _hlog(path, lines):
    from hdrh.histogram import HdrHistogram

    out = ['#[Histogram log format version 1.2]', '"StartTimestamp","Interval_Length",'
           '"Interval_Max","Interval_Compressed_Histogram"']
    for tag, start, values_us in lines:
        h = HdrHistogram(1, 3_600_000_000, 3)
        for v in values_us:
            h.record_value(v)
        out.append(f"Tag={tag},{start:.3f},1.000,{h.get_max_value() / 1000:.3f},"
                   f"{h.encode().decode()}")
    path.write_text("\n".join(out) + "\n")


def test_the_hdr_table_shows_what_a_stall_did_to_the_intended_latency(fresh_run):
    """An open-model run whose fault stalled order entry: sends held back by the stall show in
    the intended-time latency (2.5 s) while the sent-time latency stays at 10 ms."""
    import json

    folder = fresh_run("hdr")
    run = json.loads((folder / "run.json").read_text())
    fault = next(p for p in run["phases"] if p["name"] == "fault")
    base = next(p for p in run["phases"] if p["name"] == "baseline")
    t_fault, t_base = int(fault["start"]) + 1, int(base["start"]) + 1
    _hlog(folder / "latency.hlog", [
        ("sent.all", t_base, [10_000] * 100), ("intended.all", t_base, [10_000] * 100),
        ("sent.order-entry", t_fault, [10_000] * 98 + [12_000] * 2),
        ("intended.order-entry", t_fault, [10_000] * 90 + [2_500_000] * 10),
        # a late part of the same second, after it (a slow worker): it counts too
        ("sent.order-entry", t_fault, [11_000]), ("intended.order-entry", t_fault, [2_400_000]),
    ])
    (folder / "sends.json").write_text(json.dumps({
        "model": "open", "profile": "market-open", "scheduled": 1200, "sent": 1190,
        "dropped": 10}))
    soup = soup_of(build_report(folder))
    table = soup.select_one("table.latency-hdr")
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in table.select("tbody tr")]
    assert ["baseline", "all", "sent", "100"] == rows[0][:4]
    fault_rows = {r[2]: r for r in rows if r[0] == "fault" and r[1] == "order-entry"}
    assert fault_rows["sent"][3] == "101" and fault_rows["intended"][3] == "101"
    assert fault_rows["sent"][6] == "0.012 s"  # p99 from the sent time
    assert fault_rows["intended"][6].startswith("2.5")  # p99 from the intended time
    assert "10 dropped" in soup.select_one("#sends").get_text(" ", strip=True)


def test_the_report_says_which_latency_an_objective_was_judged_on(fresh_run):
    import json

    folder = fresh_run("sources")
    slo = json.loads((folder / "slo.json").read_text())
    first = slo["objectives"][0]
    first.update(name="client-intended-latency-p99[order-entry]", route_class="order-entry",
                 unit="s", source="hdr:intended", value=2.4, phase="fault")
    (folder / "slo.json").write_text(json.dumps(slo))
    soup = soup_of(build_report(folder))
    shown = [s.get_text(strip=True) for s in soup.select(".judged-on")]
    assert "every answer (HDR), from the intended send" in shown
