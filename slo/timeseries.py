"""Snapshot the report's panels from Prometheus into ``timeseries.json``.

The report is built from files only, so the runner saves the series it plots
while Prometheus still runs (docs/contracts.md §4). Every panel reads the SLI
recording rules of ``slo/rules``; points lie on the regular grid
``start + k*step`` and a missing value is ``null``. A series that has samples
also lists its ``holes`` (``[start, end]`` where Prometheus had no sample at
all, as opposed to a 0/0 "no traffic" sample), which the report draws. Fixed series (client,
server, ...) are always present, all-null when Prometheus has none, so the
report can say "no data" instead of silently dropping a line.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promclient.series import Series
from promclient.source import PrometheusSource

SCHEMA = 1
EDGE_SERVICE = "gateway"  # the server-side twin of the client's view


@dataclass(frozen=True)
class Panel:
    panel: str
    name: str | None  # None: one series per value of ``by`` (named by it)
    unit: str
    query: str
    by: str | None = None


def _hpa_query(metric: str, word: str) -> str:
    """One series per HPA (kube-state-metrics; none on the local target), named
    ``<hpa> desired`` / ``<hpa> current``."""
    return (f'label_replace(max by (horizontalpodautoscaler) '
            f'(kube_horizontalpodautoscaler_status_{metric}), "series", "$1 {word}", '
            f'"horizontalpodautoscaler", "(.+)")')


def panels(edge_service: str = EDGE_SERVICE) -> list[Panel]:
    edge = f'service="{edge_service}"'
    out = [
        Panel("throughput", "client", "req/s", "sum(client:requests:rate10s)"),
        Panel("throughput", "server", "req/s", f"sum(service:http_requests:rate10s{{{edge}}})"),
        # the ratio rules have no series before a first error: then the ratio is 0
        Panel(
            "error_rate",
            "client",
            "ratio",
            "max(client:errors:ratio_rate10s or client:requests:rate10s * 0)",
        ),
        Panel(
            "error_rate",
            "server",
            "ratio",
            f"max(service:http_errors:ratio_rate10s{{{edge}}} "
            f"or service:http_requests:rate10s{{{edge}}} * 0)",
        ),
    ]
    for side, metric in (
        ("client", "client:latency_seconds"),
        ("server", "service:http_latency_seconds"),
    ):
        for q in ("p50", "p95", "p99"):
            selector = "" if side == "client" else f"{{{edge}}}"
            query = f"max({metric}:{q}_10s{selector})"
            out.append(Panel("latency", f"{side}_{q}", "s", query))
    out += [
        Panel("replicas_ready", None, "replicas", "service:replicas_ready", by="service"),
        *(Panel("hpa_replicas", None, "replicas", _hpa_query(metric, word), by="series")
          for metric, word in (("desired_replicas", "desired"), ("current_replicas", "current"))),
        Panel("database_up", "database", "up", "max(platform:database_up)"),
        Panel("outbox_lag", "outbox_lag", "s", "max(platform:outbox_lag_seconds)"),
    ]
    return out


def export_timeseries(
    prometheus_url: str, start: float, end: float, path: Path, step_s: float = 1,
    extra: Sequence[Panel] = (),
) -> Path:
    """Write ``timeseries.json`` for ``[start, end]`` to ``path`` and return it;
    ``extra``: panels of the run's own (e.g. its guardrails' series) after the standard ones.

    Raises :class:`promclient.errors.PrometheusUnreachable` when Prometheus does not
    answer and :class:`promclient.errors.QueryError` when it rejects a query.
    """
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if step_s <= 0:
        raise ValueError(f"step_s must be > 0, got {step_s}")
    path = Path(path)
    wanted = [*panels(), *extra]
    grid = [start + k * step_s for k in range(int(math.floor((end - start) / step_s + 1e-9)) + 1)]
    with PrometheusSource(prometheus_url) as source:
        source.check()
        fetched = source.range_queries([p.query for p in wanted], start, end, step_s)
    series_out: list[dict[str, Any]] = []
    for panel in wanted:
        outcome = fetched[panel.query]
        if isinstance(outcome, Exception):
            raise outcome
        if panel.by is None:
            first = outcome[0] if outcome else None
            series_out.append(_entry(panel, panel.name or panel.panel, {}, first, grid, step_s))
        else:
            for s in sorted(outcome, key=lambda s: s.labels.get(panel.by or "", "")):
                value = s.labels.get(panel.by, "")
                series_out.append(_entry(panel, value, {panel.by: value}, s, grid, step_s))
    doc = {
        "schema": SCHEMA,
        "start": start,
        "end": end,
        "step_seconds": step_s,
        "prometheus_url": prometheus_url,
        "series": series_out,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".timeseries-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, allow_nan=False, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _entry(
    panel: Panel,
    name: str,
    labels: dict[str, str],
    series: Series | None,
    grid: list[float],
    step_s: float,
) -> dict[str, Any]:
    points: list[list[float | None]] = []
    tolerance = step_s / 2
    holes: list[list[float]] = []  # where a series that has samples has none (not 0/0)
    hole_start: float | None = None
    for t in grid:
        value = series.at(t, tolerance) if series is not None else None
        missing = (series is not None and series.times and value is None
                   and not any(abs(n - t) <= tolerance for n in series.no_traffic))
        if missing and hole_start is None:
            hole_start = t
        elif not missing and hole_start is not None:
            holes.append([round(hole_start, 3), round(t, 3)])
            hole_start = None
        if value is not None and not math.isfinite(value):
            value = None
        points.append([round(t, 3), value])
    if hole_start is not None:
        holes.append([round(hole_start, 3), round(grid[-1], 3)])
    return {
        "panel": panel.panel,
        "name": name,
        "unit": panel.unit,
        "labels": labels,
        "query": panel.query,
        "points": points,
        "holes": holes,
    }
