"""What the live progress shows: phase and time left (or over plan), throughput,
error rate, p99 and the active faults, as a panel or as plain lines."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from tradestorm.runner.progress import Metrics, Progress, RunView, render, status_line


def _view(**metrics: object) -> RunView:
    view = RunView(scenario="risk-latency", target="local", results_dir=Path("/r"),
                   started_at=time.time() - 75)
    view.metrics = Metrics(**metrics)  # type: ignore[arg-type]
    return view


def test_status_line_shows_phase_time_left_figures_and_faults() -> None:
    view = _view(throughput=42.25, error_rate=0.0125, p99=0.3456, source="prometheus",
                 active_faults=["latency on risk", "orders 1/2 ready"])
    view.set_phase("fault", 20, started=time.time() - 5)
    line = status_line(view)
    assert line.startswith("[ 1m15s] fault (15s left)")
    assert "42.2 req/s" in line and "errors 1.25 %" in line and "p99 346 ms" in line
    assert line.endswith("faults: latency on risk, orders 1/2 ready")


def test_a_phase_running_over_its_plan_says_so_and_why() -> None:
    view = _view()
    view.set_phase("fault", 20, started=time.time() - 32,
                   note="the experiment's rollbacks and steady-state checks")
    line = status_line(view)
    assert "fault (12s over plan: the experiment's rollbacks and steady-state checks)" in line
    assert "— | errors — | p99 —" in line  # no data yet is a dash, never a made-up zero


def test_the_panel_names_the_scenario_and_the_faults() -> None:
    view = _view(throughput=10.0, error_rate=0.5, p99=2.0, active_faults=["database down"])
    view.set_phase("recovery", 30)
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(render(view))
    text = out.getvalue()
    assert "tradestorm run risk-latency (local)" in text
    assert "recovery" in text and "30s left" in text
    assert "50.00 %" in text and "2000 ms" in text and "database down" in text


def test_off_a_terminal_progress_prints_plain_lines_and_a_last_one(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False, color_system=None)
    view = _view()
    # no Prometheus at this address: figures stay dashes, nothing raises
    with Progress(view, console, "http://127.0.0.1:9", tmp_path / "none.csv",
                  line_every_s=0.2) as progress:
        view.set_phase("baseline", 2)
        progress.say("load: steady profile")
        time.sleep(0.6)
    lines = out.getvalue().splitlines()
    assert "load: steady profile" in lines
    assert sum("baseline" in line for line in lines) >= 2


def test_locust_history_is_the_fallback_when_prometheus_has_nothing(tmp_path: Path) -> None:
    from tradestorm.runner.progress import MetricsPoller

    history = tmp_path / "locust_stats_history.csv"
    history.write_text(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s\n"
        "1,5,,Aggregated,10.0,0.5\n"
        "2,5,GET,/v1/portfolio,4.0,0\n"
        "3,5,,Aggregated,20.0,1.0\n"
    )
    poller = MetricsPoller(_view(), "http://127.0.0.1:9", history)
    metrics = poller.poll()
    poller.stop()
    assert metrics.source == "locust"
    assert metrics.throughput == 20.0 and metrics.error_rate == 0.05


@contextlib.contextmanager
def _silent_server() -> Iterator[str]:
    """An HTTP address that accepts connections and never answers (a hung Prometheus)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        server.close()


def test_a_hung_prometheus_neither_blocks_the_display_nor_its_end(tmp_path: Path) -> None:
    from tradestorm.runner.progress import QUERY_TIMEOUT_S, MetricsPoller

    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False, color_system=None)
    view = _view()
    with _silent_server() as url:
        poller = MetricsPoller(view, url, tmp_path / "none.csv")
        started = time.monotonic()
        assert poller._query("sum(client:requests:rate10s)") is None  # a timeout is "no data"
        assert time.monotonic() - started < QUERY_TIMEOUT_S + 1
        poller.stop()
        started = time.monotonic()
        with Progress(view, console, url, tmp_path / "none.csv", line_every_s=0.2):
            view.set_phase("baseline", 2)
            time.sleep(0.5)  # the poller is now stuck in a query
        assert time.monotonic() - started < 0.5 + QUERY_TIMEOUT_S + 2
    assert "baseline" in out.getvalue()
