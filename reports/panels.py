"""The time-series panels of the report, from ``timeseries.json`` (contracts §4).

Panels: throughput, error rate, latency (client- and server-side), ready
replicas per service, HPA replicas desired against current (where there are
HPAs), database availability, outbox lag, and the run's guardrails (each stop
condition's own series beside its limit, when the scenario has any). Fault windows from
``run.json`` are shaded on every chart and phase starts marked. When
``timeseries.json`` is missing, throughput, errors and client latency fall back
to Locust's own per-second history, and the chart says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from reports.charts import Band, Chart, Marker, Series, line_chart
from reports.errors import ResultsFileError
from reports.fields import Fields
from reports.results import ResultsFolder
from reports.run_info import RunInfo


@dataclass(frozen=True)
class PanelSpec:
    key: str
    title: str
    unit: str | None
    step: bool = False
    y_max: float | None = None
    integer: bool = False  # counts and 0/1 states: whole-number ticks only
    prefix: str | None = None  # only series whose name starts with this (latency sides)
    optional: bool = False  # left out when there is no series at all (not on every target)


PANELS = (
    PanelSpec("throughput", "Throughput", "req/s"),
    PanelSpec("error_rate", "Error rate", "ratio"),
    PanelSpec("latency", "Latency, client side (p50 / p95 / p99)", "s", prefix="client"),
    PanelSpec("latency", "Latency, server side (p50 / p95 / p99)", "s", prefix="server"),
    PanelSpec("replicas_ready", "Ready replicas per service", "", step=True, y_max=1,
              integer=True),
    PanelSpec("hpa_replicas", "HPA replicas, desired against current (per HPA)", "",
              step=True, integer=True, optional=True),
    PanelSpec("database_up", "Database availability", "up", step=True, y_max=1, integer=True),
    PanelSpec("outbox_lag", "Outbox lag (age of the oldest undelivered event)", "s"),
    PanelSpec("guardrails", "Guardrails: each stop condition's series and its limit", "",
              optional=True),
)


@dataclass
class PanelView:
    key: str
    title: str
    chart: Chart
    unit: str | None
    source: str = "Prometheus"
    queries: list[str] = field(default_factory=list)


@dataclass
class SeriesData:
    panel: str
    name: str
    unit: str | None
    query: str | None
    points: list[tuple[float, float | None]]
    holes: list[tuple[float, float]] = field(default_factory=list)


def _points(item: Fields) -> list[tuple[float, float | None]]:
    raw = item.raw_list("points")
    out: list[tuple[float, float | None]] = []
    for j, point in enumerate(raw):
        try:
            t, v = point
            t = float(t)
            v = None if v is None else float(v)
        except (TypeError, ValueError):
            raise ResultsFileError(item.path, f"{item.prefix}.points[{j}]",
                                   "expected [unix_time, value or null]") from None
        if v is not None and not math.isfinite(v):
            v = None  # Prometheus NaN/Inf: a gap, not a spike
        out.append((t, v))
    return out


def read_series(folder: ResultsFolder) -> list[SeriesData]:
    ts = folder.timeseries
    if ts is None:
        return []
    out = []
    for item in ts.objs("series"):
        labels = item.obj("labels")
        fallback = ""
        if labels is not None:  # a series without a name is named by its labels
            fallback = labels.text("service") or ", ".join(
                f"{k}={v}" for k, v in sorted(labels.data.items()) if v is not None)
        out.append(SeriesData(
            panel=item.text("panel") or "",
            name=item.text("name") or fallback or item.text("panel") or "",
            unit=item.text("unit"),
            query=item.text("query"),
            points=_points(item),
            holes=_holes(item),
        ))
    return out


def _holes(item: Fields) -> list[tuple[float, float]]:
    """``holes`` of a timeseries.json series: ``[start, end]`` pairs (absent before schema 1's
    holes were written: none)."""
    out = []
    for j, pair in enumerate(item.raw_list("holes") if item.has("holes") else []):
        try:
            start, end = (float(x) for x in pair)
        except (TypeError, ValueError):
            raise ResultsFileError(item.path, f"{item.prefix}.holes[{j}]",
                                   f"expected [start, end] in Unix seconds, got {pair!r}") from None
        out.append((start, end))
    return out


def _locust_series(folder: ResultsFolder, key: str, prefix: str | None) -> list[SeriesData]:
    """Locust's aggregated history as a stand-in when timeseries.json is missing."""
    history = folder.locust.history if folder.locust else []
    if not history:
        return []
    if key == "throughput":
        return [SeriesData(key, "client (Locust)", "req/s", None,
                           [(h.t, h.rps) for h in history])]
    if key == "error_rate":
        return [SeriesData(key, "client (Locust)", "ratio", None, [
            (h.t, (h.failures_per_s / h.rps) if h.rps and h.failures_per_s is not None
             else (0.0 if h.rps == 0 else None))
            for h in history])]
    if key == "latency" and prefix == "client":
        def secs(ms: float | None) -> float | None:
            return None if ms is None else ms / 1000.0
        return [
            SeriesData(key, "client_p50", "s", None, [(h.t, secs(h.p50_ms)) for h in history]),
            SeriesData(key, "client_p95", "s", None, [(h.t, secs(h.p95_ms)) for h in history]),
            SeriesData(key, "client_p99", "s", None, [(h.t, secs(h.p99_ms)) for h in history]),
        ]
    return []


def fault_bands(info: RunInfo) -> list[Band]:
    """Fault windows; a fault with no recorded end (an interrupted run) runs to the run's end."""
    bands = []
    for f in info.faults:
        if f.start is None:
            continue
        if f.end is None:
            end = info.ended_at if info.ended_at is not None else f.start
            bands.append(Band(f.start, max(end, f.start), f"{f.label} (no end recorded)"))
        else:
            bands.append(Band(f.start, f.end, f.label))
    if not bands:
        bands = [Band(p.start, p.end if p.end is not None else p.start, "fault phase")
                 for p in info.phases if p.name == "fault" and p.start is not None]
    return bands


def phase_markers(info: RunInfo) -> list[Marker]:
    """Phase starts, and the moment a guardrail (or the lever, a calendar window) tripped."""
    markers = [Marker(p.start, p.name) for p in info.phases if p.start is not None]
    if info.guardrail_at is not None:
        markers.append(Marker(info.guardrail_at, "guardrail tripped"))
    return markers


def _window(info: RunInfo, series: list[SeriesData]) -> tuple[float, float]:
    times = [t for s in series for t, _ in s.points]
    start = info.started_at if info.started_at is not None else (min(times) if times else 0.0)
    end = info.ended_at if info.ended_at is not None else (max(times) if times else start + 1)
    if times:
        start, end = min(start, min(times)), max(end, max(times))
    return start, max(end, start + 1)


def build_panels(folder: ResultsFolder, info: RunInfo) -> list[PanelView]:
    series = read_series(folder)
    start, end = _window(info, series)
    bands, markers = fault_bands(info), phase_markers(info)
    views = []
    for spec in PANELS:
        chosen = [s for s in series if s.panel == spec.key]
        if spec.prefix is not None:
            prefixed = [s for s in chosen if s.name.startswith(spec.prefix)]
            if not any(s.name.startswith(("client", "server")) for s in chosen):
                prefixed = chosen if spec.prefix == "client" else []
            chosen = prefixed
        if spec.optional and not chosen:
            continue  # e.g. no HPA on the local target: no empty chart
        source = "Prometheus"
        if folder.timeseries is None:
            chosen = _locust_series(folder, spec.key, spec.prefix)
            source = ("Locust history (timeseries.json missing)" if chosen
                      else "none: timeseries.json missing")
        unit = spec.unit
        if chosen and chosen[0].unit and spec.key not in ("error_rate", "database_up"):
            unit = chosen[0].unit
        if spec.key == "error_rate" and chosen and chosen[0].unit in ("%", "percent"):
            unit = "%"
        holes = [Band(a, b, s.name) for s in chosen for a, b in s.holes]
        chart = line_chart(
            [Series(s.name, s.points) for s in chosen],
            start=start, end=end, unit=unit, title=spec.title, bands=bands,
            markers=markers, step=spec.step, y_max=spec.y_max, integer=spec.integer,
            holes=holes,
        )
        views.append(PanelView(
            key=spec.key if spec.prefix is None else f"{spec.key}_{spec.prefix}",
            title=spec.title, chart=chart, unit=unit, source=source,
            queries=[s.query for s in chosen if s.query],
        ))
    known = {spec.key for spec in PANELS}
    extra: dict[str, list[SeriesData]] = {}
    for s in series:  # panels a newer exporter adds still show, as plain line charts
        if s.panel not in known:
            extra.setdefault(s.panel, []).append(s)
    for key, chosen in extra.items():
        unit = chosen[0].unit
        chart = line_chart([Series(s.name, s.points) for s in chosen], start=start, end=end,
                           unit=unit, title=key, bands=bands, markers=markers)
        views.append(PanelView(key=f"extra-{len(views)}", title=key.replace("_", " ").capitalize()
                               or "(unnamed panel)", chart=chart, unit=unit,
                               queries=[s.query for s in chosen if s.query]))
    return views
