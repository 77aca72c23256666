"""Known data for a real Prometheus: OpenMetrics text -> promtool TSDB blocks -> prometheus.

Recording rules are not evaluated retroactively, so the SLI series are written
directly under the recording-rule names (docs/contracts.md §2).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class OpenMetrics:
    """Gauge series, grouped by metric family as OpenMetrics requires."""

    families: dict[str, list[tuple[dict[str, str], list[tuple[float, float]]]]] = field(
        default_factory=dict
    )

    def add(
        self,
        name: str,
        labels: dict[str, str],
        start: float,
        end: float,
        value: Callable[[float], float | None],
        step: float = 1.0,
    ) -> None:
        points = []
        t = start
        while t <= end + 1e-9:
            v = value(t)
            if v is not None:
                points.append((t, v))
            t += step
        self.families.setdefault(name, []).append((labels, points))

    def text(self) -> str:
        lines: list[str] = []
        for name, series in self.families.items():
            lines.append(f"# TYPE {name} gauge")
            for labels, points in series:
                label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                selector = f"{name}{{{label_text}}}" if label_text else name
                lines.extend(f"{selector} {v!r} {t:.3f}" for t, v in points)
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


def build_tsdb(data: OpenMetrics, folder: Path) -> Path:
    """Write ``data`` as TSDB blocks under ``folder/tsdb`` with promtool."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "data.om"
    source.write_text(data.text())
    tsdb = folder / "tsdb"
    subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(tsdb)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return tsdb


@contextmanager
def running_prometheus(tsdb: Path, folder: Path) -> Iterator[str]:
    """A real Prometheus on 127.0.0.1:free-port serving ``tsdb``; yields its URL."""
    if not (Path(PROMETHEUS).exists() and shutil.which(PROMTOOL)):
        raise RuntimeError(f"{PROMETHEUS} and {PROMTOOL} are required (Debian package prometheus)")
    config = folder / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    port = free_port()
    log = (folder / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tsdb}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
            # a live Prometheus ends a series at a failed scrape with a staleness marker,
            # which backfilled data cannot carry; a 1 s lookback does the same for the
            # known data (1 s apart, queried on the same grid), so a hole stays a hole
            # instead of being filled with the last value for 5 minutes
            "--query.lookback-delta=1s",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"prometheus exited: {(folder / 'prometheus.log').read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not become ready in 30 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def write_run(
    folder: Path,
    *,
    phases: list[tuple[str, float, float]],
    faults: list[dict] | None = None,
    scenario: str = "pod-kill-orders",
    target: str = "local",
    prometheus_url: str | None = None,
    status: str = "completed",
    reconcile: dict | None = None,
) -> Path:
    """A results folder with run.json (and reconcile.json when given) per docs/contracts.md §4."""
    folder.mkdir(parents=True, exist_ok=True)
    run = {
        "schema": 1,
        "run_id": folder.name,
        "scenario": scenario,
        "target": target,
        "started_at": phases[0][1],
        "ended_at": phases[-1][2],
        "status": status,
        "phases": [{"name": n, "start": s, "end": e} for n, s, e in phases],
        "faults": faults or [],
        "load": {"profile": "steady", "users": 10},
        "prometheus_url": prometheus_url,
        "versions": {},
    }
    (folder / "run.json").write_text(json.dumps(run))
    if reconcile is not None:
        (folder / "reconcile.json").write_text(json.dumps(reconcile))
    return folder


RECONCILE_OK = {
    "ok": True,
    "acknowledged": 1234,
    "checks": [
        {"name": "acknowledged_orders_present", "ok": True, "violations": 0, "detail": ""},
        {"name": "no_duplicate_orders", "ok": True, "violations": 0, "detail": ""},
    ],
    "violations": [],
}
