"""The report reads the CSV files of a real Locust run (not only the fixture's imitation)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fixture_results import FAILURE_COLUMNS, HISTORY_COLUMNS, STATS_COLUMNS
from report_html import soup_of

from reports.build import build_report

REQUESTS = 30
LOCUSTFILE = f'''
import gevent
from locust import HttpUser, constant, task

STOPPING = []


class Trader(HttpUser):
    """Ends the run once {REQUESTS} requests are done, however slow a busy machine is.

    Locust writes its CSV files on a 1 s tick and not again at shutdown, so the quit
    comes once the history holds two rows, from a greenlet of its own (a user cannot
    quit the runner it runs in).
    """

    wait_time = constant(0.02)

    def _enough(self):
        if self.environment.stats.total.num_requests >= {REQUESTS} and not STOPPING:
            STOPPING.append(True)
            gevent.spawn(self._quit_once_history_has_two_rows)

    def _quit_once_history_has_two_rows(self):
        # a chart needs two points for a line: wait (at most 20 s) for Locust's 1 s
        # history writer to have written two rows, then let it write once more
        for _ in range(200):
            try:
                with open("locust_stats_history.csv") as handle:
                    if sum(1 for _ in handle) >= 3:
                        break
            except OSError:
                pass
            gevent.sleep(0.1)
        gevent.sleep(1.5)
        self.environment.runner.quit()

    @task(3)
    def order(self):
        self.client.post("/v1/orders", json={{"symbol": "AAPL", "quantity": 1}})
        self._enough()

    @task(2)
    def portfolio(self):
        self.client.get("/v1/portfolio")
        self._enough()

    @task(1)
    def missing(self):
        self.client.get("/v1/missing")
        self._enough()
'''


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status = 404 if self.path == "/v1/missing" else 201 if self.command == "POST" else 200
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def locust_results(gateway: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("locust-run")
    locustfile = results / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", "2", "-r", "2",
         "-t", "60s", "--host", gateway, "--csv", str(results / "locust"), "--only-summary",
         "--loglevel", "WARNING", "--stop-timeout", "2"],
        capture_output=True, text=True, timeout=120, cwd=results,
    )
    ended = time.time()
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: the run had failures (the 404s)
    (results / "run.json").write_text(json.dumps({
        "schema": 1, "run_id": "real-locust", "scenario": "locust-only", "target": "local",
        "started_at": started, "ended_at": ended, "status": "completed", "phases": [],
        "faults": [{"action": "add_latency", "target": "orders", "args": {},
                    "start": started + 1, "end": started + 2}]}))
    return results


def _header(path: Path) -> list[str]:
    with path.open(newline="") as handle:
        return next(csv.reader(handle))


def test_fixture_uses_locusts_real_columns(locust_results):
    assert _header(locust_results / "locust_stats.csv") == STATS_COLUMNS
    assert _header(locust_results / "locust_stats_history.csv") == HISTORY_COLUMNS
    assert _header(locust_results / "locust_failures.csv") == FAILURE_COLUMNS


def test_report_shows_a_real_locust_run(locust_results):
    with (locust_results / "locust_stats.csv").open(newline="") as handle:
        expected = {(r["Type"], r["Name"]): r for r in csv.DictReader(handle)}
    assert ("POST", "/v1/orders") in expected
    assert int(expected[("", "Aggregated")]["Request Count"]) >= REQUESTS

    soup = soup_of(build_report(locust_results))
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in soup.find("table", class_="locust").find("tbody").find_all("tr")]
    shown = {(r[0], r[1]): r for r in rows}
    assert set(shown) == set(expected)
    for key, row in expected.items():
        assert shown[key][2] == f"{int(row['Request Count']):,}", key
        assert shown[key][3] == f"{int(row['Failure Count']):,}", key
    assert shown[("GET", "/v1/missing")][4] == "100 %"
    failures = soup.find("table", class_="failures").get_text(" ", strip=True)
    assert "/v1/missing" in failures and "404" in failures
    throughput = soup.find(id="panel-throughput")
    assert "Locust history" in throughput.get_text()
    assert throughput.find_all("polyline", class_="series")
    assert throughput.find("rect", class_="fault") is not None
