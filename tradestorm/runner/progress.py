"""Live progress of a run in the terminal.

What the user sees while a run lasts: the phase and how long it has to go, the
elapsed time, the throughput and error rate the clients see, their p99
latency, and the faults that are active right now. Throughput, error rate and
latency come from the client-side SLIs in Prometheus (``client:*`` recording
rules), falling back to Locust's own CSV history while Prometheus has nothing
yet; active faults come from the proxies' and the supervisor's metrics, so
they show what is really broken, not what was planned.

On a terminal this is a ``rich`` Live panel; elsewhere (CI logs, pipes) one
plain line every few seconds and at every phase change.
"""

from __future__ import annotations

import csv
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from inputs.durations import format_duration
from promclient.errors import PrometheusError
from promclient.source import PrometheusSource, Sample

# A live figure is worth nothing late: a slow Prometheus shows stale figures (the
# poller runs in its own thread) instead of holding anything up.
QUERY_TIMEOUT_S = 1.0

_QUERIES = {
    "throughput": "sum(client:requests:rate10s)",
    # no failed request at all leaves the ratio without a series: that is 0, not "no data"
    "error_rate": "max(client:errors:ratio_rate10s) or (sum(client:requests:rate10s) * 0)",
    "p99": "max(client:latency_seconds:p99_10s)",
    "proxy_faults": "sum by (service, kind) (tradestorm_proxy_faults_active) > 0",
    "database_up": "min(platform:database_up)",
    "replicas_ready": "service:replicas_ready",
    "replicas_desired": "service:replicas_desired",
}


@dataclass
class Metrics:
    throughput: float | None = None
    error_rate: float | None = None
    p99: float | None = None
    source: str = "none"
    active_faults: list[str] = field(default_factory=list)
    updated_at: float | None = None


@dataclass
class RunView:
    """What the orchestrator tells the display; read by the rendering thread."""

    scenario: str
    target: str
    results_dir: Path
    started_at: float = field(default_factory=time.time)
    phase: str = "starting"
    phase_started: float = field(default_factory=time.time)
    phase_planned: float | None = None
    note: str = ""
    metrics: Metrics = field(default_factory=Metrics)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_phase(self, phase: str, planned_s: float | None = None, note: str = "",
                  started: float | None = None) -> None:
        with self.lock:
            self.phase = phase
            self.phase_started = time.time() if started is None else started
            self.phase_planned = planned_s
            self.note = note

    def set_note(self, note: str) -> None:
        with self.lock:
            self.note = note

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            now = time.time()
            in_phase = now - self.phase_started
            planned = self.phase_planned
            return {
                "phase": self.phase,
                "elapsed": now - self.started_at,
                "in_phase": in_phase,
                "left": None if planned is None else max(0.0, planned - in_phase),
                "over": None if planned is None else max(0.0, in_phase - planned),
                "note": self.note,
                "metrics": self.metrics,
            }


def _fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} req/s"


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


def _fmt_latency(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f} ms"


class MetricsPoller:
    """Reads the live figures once a second in a background thread."""

    def __init__(self, view: RunView, prometheus_url: str | None, locust_history: Path,
                 interval_s: float = 1.0) -> None:
        self.view = view
        self.locust_history = locust_history
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tradestorm-progress", daemon=True)
        self._source = (PrometheusSource(prometheus_url, timeout_s=QUERY_TIMEOUT_S, workers=1)
                        if prometheus_url else None)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            # at most one query is in flight (each poll checks the stop flag between queries)
            self._thread.join(timeout=QUERY_TIMEOUT_S + 1)
        if self._source is not None:
            self._source.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                metrics = self.poll()
                with self.view.lock:
                    self.view.metrics = metrics
            except Exception:  # noqa: BLE001 - a failed poll shows stale figures, never kills the run
                pass
            self._stop.wait(self.interval_s)

    def _query(self, expr: str) -> list[Sample] | None:
        if self._source is None or self._stop.is_set():
            return None
        try:
            return self._source.instant_query(expr)
        except PrometheusError:
            return None

    @staticmethod
    def _scalar(result: list[Sample] | None) -> float | None:
        return result[0].value if result else None  # NaN (0/0) is "no data": None

    def poll(self) -> Metrics:
        results = {name: self._query(expr) for name, expr in _QUERIES.items()}
        metrics = Metrics(updated_at=time.time())
        metrics.throughput = self._scalar(results["throughput"])
        metrics.error_rate = self._scalar(results["error_rate"])
        metrics.p99 = self._scalar(results["p99"])
        if metrics.throughput is not None:
            metrics.source = "prometheus"
        else:
            fallback = self._from_locust()
            if fallback is not None:
                metrics.throughput, metrics.error_rate = fallback
                metrics.source = "locust"
        faults: list[str] = []
        for item in results["proxy_faults"] or []:
            labels = item.labels
            faults.append(f"{labels.get('kind', 'fault')} on {labels.get('service', '?')}")
        if self._scalar(results["database_up"]) == 0:
            faults.append("database down")
        desired = {r.labels.get("service"): r.value for r in results["replicas_desired"] or []}
        short: list[str] = []
        by_service = sorted(results["replicas_ready"] or [],
                            key=lambda r: r.labels.get("service", ""))
        for item in by_service:
            service = item.labels.get("service")
            want = desired.get(service)
            if item.value is not None and want is not None and item.value < want:
                short.append(f"{service} {item.value:.0f}/{want:.0f} ready")
        if len(short) > 3:
            short = [f"{len(short)} services not fully ready"]
        metrics.active_faults = faults + short
        return metrics

    def _from_locust(self) -> tuple[float, float] | None:
        try:
            with self.locust_history.open(newline="", encoding="utf-8") as handle:
                rows = [r for r in csv.DictReader(handle) if r.get("Name") == "Aggregated"]
        except OSError:
            return None
        if not rows:
            return None
        last = rows[-1]
        try:
            rps = float(last.get("Requests/s") or 0)
            fps = float(last.get("Failures/s") or 0)
        except ValueError:
            return None
        return rps, (fps / rps if rps else 0.0)


def render(view: RunView) -> Panel:
    snap = view.snapshot()
    m: Metrics = snap["metrics"]
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    phase = Text(snap["phase"], style="bold cyan")
    if snap["over"]:
        phase.append(f"  {format_duration(snap['over'])} over plan", style="yellow")
    elif snap["left"] is not None:
        phase.append(f"  {format_duration(snap['left'])} left", style="dim")
    table.add_row("phase", phase)
    table.add_row("elapsed", format_duration(snap["elapsed"]))
    table.add_row("throughput", _fmt_rate(m.throughput)
                  + ("  (from Locust)" if m.source == "locust" else ""))
    error_style = "red" if (m.error_rate or 0) > 0.01 else "green"
    table.add_row("error rate", Text(_fmt_ratio(m.error_rate), style=error_style))
    table.add_row("p99 latency", _fmt_latency(m.p99))
    faults = Text(", ".join(m.active_faults) or "none",
                  style="bold red" if m.active_faults else "green")
    table.add_row("active faults", faults)
    parts: list[Any] = [table]
    if snap["note"]:
        parts.append(Text(snap["note"], style="dim"))
    return Panel(Group(*parts), title=f"tradestorm run {view.scenario} ({view.target})",
                 subtitle=str(view.results_dir), expand=False)


def status_line(view: RunView) -> str:
    snap = view.snapshot()
    m: Metrics = snap["metrics"]
    if snap["over"]:
        left = f" ({format_duration(snap['over'])} over plan: {snap['note'] or 'waiting'})"
    elif snap["left"] is not None:
        left = f" ({format_duration(snap['left'])} left)"
    else:
        left = ""
    return (f"[{format_duration(snap['elapsed']):>6}] {snap['phase']}{left} | "
            f"{_fmt_rate(m.throughput)} | errors {_fmt_ratio(m.error_rate)} | "
            f"p99 {_fmt_latency(m.p99)} | faults: {', '.join(m.active_faults) or 'none'}")


class Progress:
    """Context manager showing a run's progress until it ends."""

    def __init__(self, view: RunView, console: Console, prometheus_url: str | None,
                 locust_history: Path, line_every_s: float = 5.0) -> None:
        self.view = view
        self.console = console
        self.poller = MetricsPoller(view, prometheus_url, locust_history)
        self.line_every_s = line_every_s
        self._live: Live | None = None
        self._printer: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_phase = ""

    def __enter__(self) -> Progress:
        self.poller.start()
        if self.console.is_terminal:
            self._live = Live(_Renderable(self.view), console=self.console, refresh_per_second=2,
                              transient=False)
            self._live.start()
        else:
            self._printer = threading.Thread(target=self._print_loop, daemon=True,
                                             name="tradestorm-progress-lines")
            self._printer.start()
        return self

    def _print_loop(self) -> None:
        last = 0.0
        while not self._stop.is_set():
            phase = self.view.snapshot()["phase"]
            now = time.monotonic()
            if phase != self._last_phase or now - last >= self.line_every_s:
                self._last_phase = phase
                last = now
                self.console.print(status_line(self.view), highlight=False, soft_wrap=True)
            self._stop.wait(0.5)

    def say(self, message: str) -> None:
        """A message above the live panel (or a plain line)."""
        if self._live is not None:
            self._live.console.print(message, highlight=False)
        else:
            self.console.print(message, highlight=False, soft_wrap=True)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._printer is not None:
            self._printer.join(timeout=2)
        self.poller.stop()
        if self._live is not None:
            self._live.stop()
        else:
            self.console.print(status_line(self.view), highlight=False, soft_wrap=True)


class _Renderable:
    def __init__(self, view: RunView) -> None:
        self.view = view

    def __rich__(self) -> Panel:
        return render(self.view)
