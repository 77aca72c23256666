"""Inline SVG charts, drawn in Python: time series with shaded fault windows,
an activity timeline, and a sparkline. No JavaScript, no external asset.

Every text that comes from a results file is escaped. A chart with no data
draws its frame and says "no data". Long series are reduced to a min/max pair
per pixel column, so the file size stays bounded for long runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from reports import fmt

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2",
           "#ca8a04", "#db2777", "#4b5563", "#65a30d")
STATUS_COLORS = {"succeeded": "#16a34a", "failed": "#dc2626", "interrupted": "#ea580c",
                 "running": "#2563eb", "skipped": "#9ca3af"}
_X_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)

Point = tuple[float, float | None]


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[Point]
    color: str | None = None


@dataclass(frozen=True)
class Band:
    """A shaded time window (a fault), labelled at the top of the chart."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Marker:
    """A vertical line at a moment (a phase boundary), labelled at the top."""

    at: float
    label: str


@dataclass(frozen=True)
class LegendItem:
    name: str
    color: str
    maximum: float | None
    mean: float | None
    last: float | None


@dataclass(frozen=True)
class Chart:
    svg: Markup
    legend: list[LegendItem] = field(default_factory=list)
    has_data: bool = False
    drawn_points: int = 0


@dataclass(frozen=True)
class Bar:
    """One row of the activity timeline."""

    label: str
    start: float | None
    end: float | None
    status: str
    kind: str


def _nice(raw: float) -> float:
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    exponent = math.floor(math.log10(raw))
    base = raw / 10**exponent
    nice = 1 if base <= 1 else 2 if base <= 2 else 2.5 if base <= 2.5 else 5 if base <= 5 else 10
    return nice * 10**exponent


def _y_ticks(low: float, high: float, count: int = 4, integer: bool = False) -> list[float]:
    step = _nice((high - low) / count)
    if integer:
        step = max(1.0, math.ceil(step))
    first = math.floor(low / step) * step
    ticks = []
    tick = first
    while tick <= high + step * 1e-9:
        ticks.append(round(tick, 12))
        tick += step
    return ticks


def _x_step(span: float) -> float:
    for step in _X_STEPS:
        if span / step <= 10:
            return step
    return _X_STEPS[-1]


def _finite(points: Sequence[Point]) -> list[float]:
    return [v for _, v in points if v is not None and math.isfinite(v)]


def _segments(points: Sequence[Point]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points with a value; a missing value breaks the line."""
    segments: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for t, v in points:
        if v is None or not math.isfinite(v) or not math.isfinite(t):
            if current:
                segments.append(current)
                current = []
            continue
        current.append((t, v))
    if current:
        segments.append(current)
    return segments


def _decimate(segment: list[tuple[float, float]], x_of, columns: int) -> list[tuple[float, float]]:
    """At most a min and a max per pixel column, in time order."""
    if len(segment) <= 2 * columns:
        return segment
    out: list[tuple[float, float]] = []
    bucket: list[tuple[float, float]] = []
    bucket_col = None
    for point in segment:
        col = int(x_of(point[0]))
        if bucket and col != bucket_col:
            out.extend(_min_max(bucket))
            bucket = []
        bucket_col = col
        bucket.append(point)
    if bucket:
        out.extend(_min_max(bucket))
    return out


def _min_max(bucket: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(bucket) <= 2:
        return bucket
    low = min(bucket, key=lambda p: p[1])
    high = max(bucket, key=lambda p: p[1])
    return sorted({low, high}, key=lambda p: p[0])


class _Frame:
    """The plot area of one chart and its scales."""

    def __init__(self, width: int, height: int, start: float, end: float,
                 y_low: float, y_high: float, left: int = 64, top: int = 30) -> None:
        self.width, self.height = width, height
        self.left, self.right = left, width - 24  # room for the last time label
        self.top, self.bottom = top, height - 26
        self.start, self.end = start, end if end > start else start + 1
        self.y_low, self.y_high = y_low, y_high if y_high > y_low else y_low + 1

    def x(self, t: float) -> float:
        span = self.end - self.start
        return self.left + (t - self.start) / span * (self.right - self.left)

    def y(self, v: float) -> float:
        v = min(max(v, self.y_low), self.y_high)
        span = self.y_high - self.y_low
        return self.bottom - (v - self.y_low) / span * (self.bottom - self.top)

    @property
    def columns(self) -> int:
        return self.right - self.left

    def open(self, label: str, css: str = "chart") -> list[str]:
        return [
            f'<svg class="{css}" viewBox="0 0 {self.width} {self.height}" '
            f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{escape(label)}">',
            f'<rect class="plot" x="{self.left}" y="{self.top}" width="{self.right - self.left}" '
            f'height="{self.bottom - self.top}"/>',
        ]

    def x_axis(self) -> list[str]:
        out = []
        span = self.end - self.start
        step = _x_step(span)
        tick = 0.0
        while tick <= span + 1e-9:
            x = self.x(self.start + tick)
            out.append(f'<line class="grid" x1="{x:.1f}" y1="{self.top}" x2="{x:.1f}" '
                       f'y2="{self.bottom}"/>')
            out.append(f'<text class="tick" x="{x:.1f}" y="{self.bottom + 16}" '
                       f'text-anchor="middle">{fmt.clock(tick)}</text>')
            tick += step
        return out

    def holes(self, holes: Sequence[Band]) -> list[str]:
        """Hatched windows where a series had no sample at all."""
        return [_hole_svg(self, h) for h in holes
                if h.end >= self.start and h.start <= self.end]

    def bands(self, bands: Sequence[Band], markers: Sequence[Marker]) -> list[str]:
        out = []
        for marker in markers:
            if not self.start <= marker.at <= self.end:
                continue
            x = self.x(marker.at)
            out.append(f'<line class="phase" x1="{x:.1f}" y1="{self.top}" x2="{x:.1f}" '
                       f'y2="{self.bottom}"><title>{escape(marker.label)}</title></line>')
            out.append(f'<text class="phase-label" x="{x + 3:.1f}" y="{self.bottom - 4}">'
                       f'{escape(marker.label)}</text>')
        for i, band in enumerate(bands):
            start = max(band.start, self.start)
            end = min(band.end if band.end > band.start else band.start, self.end)
            if end < start:
                continue
            x0, x1 = self.x(start), self.x(end)
            width = max(x1 - x0, 2.0)
            label = escape(band.label)
            out.append(
                f'<rect class="fault" x="{x0:.1f}" y="{self.top}" width="{width:.1f}" '
                f'height="{self.bottom - self.top}"><title>fault: {label} '
                f'({fmt.clock(band.start - self.start)}–{fmt.clock(band.end - self.start)})'
                f'</title></rect>'
            )
            label_y = self.top - 6 - 11 * (i % 2)  # alternate rows so neighbours stay legible
            out.append(f'<text class="fault-label" x="{x0 + 2:.1f}" y="{label_y}">'
                       f'{label}</text>')
        return out


def _hole_svg(frame: _Frame, hole: Band) -> str:
    x0 = frame.x(max(hole.start, frame.start))
    x1 = frame.x(min(max(hole.end, hole.start), frame.end))
    return (f'<rect class="hole" x="{x0:.1f}" y="{frame.top}" width="{max(x1 - x0, 2.0):.1f}" '
            f'height="{frame.bottom - frame.top}"><title>no samples of {escape(hole.label)} '
            f'({fmt.clock(hole.start - frame.start)}–{fmt.clock(hole.end - frame.start)})'
            f'</title></rect>')


def line_chart(
    series: Sequence[Series],
    *,
    start: float,
    end: float,
    unit: str | None = None,
    title: str = "",
    bands: Sequence[Band] = (),
    markers: Sequence[Marker] = (),
    step: bool = False,
    y_max: float | None = None,
    integer: bool = False,
    width: int = 960,
    height: int = 230,
    holes: Sequence[Band] = (),
) -> Chart:
    """A time-series chart over ``[start, end]`` (Unix seconds); ``holes`` are where a series
    had no sample at all (hatched: the gate's coverage rule counts them)."""
    values = [v for s in series for v in _finite(s.points)]
    has_data = bool(values)
    y_low = min(0.0, min(values)) if values else 0.0
    y_high = max(values) if values else 1.0
    if y_max is not None:
        y_high = max(y_high, y_max)
    if y_high <= y_low:
        y_high = y_low + 1.0
    ticks = _y_ticks(y_low, y_high, integer=integer)
    y_high = max(y_high, ticks[-1]) + (ticks[-1] - ticks[0]) * 0.06  # headroom above the top tick
    frame = _Frame(width, height + 11, start, end, y_low, y_high, top=30 + 11)
    parts = frame.open(title or "chart")
    for tick in ticks:
        y = frame.y(tick)
        parts.append(f'<line class="grid" x1="{frame.left}" y1="{y:.1f}" x2="{frame.right}" '
                     f'y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{frame.left - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{escape(fmt.value(tick, unit))}</text>')
    parts.extend(frame.x_axis())
    parts.extend(frame.bands(bands, markers))
    parts.extend(frame.holes(holes))

    legend = []
    drawn = 0
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        finite = _finite(s.points)
        legend.append(LegendItem(
            name=s.name, color=color,
            maximum=max(finite) if finite else None,
            mean=sum(finite) / len(finite) if finite else None,
            last=finite[-1] if finite else None,
        ))
        for segment in _segments(s.points):
            segment = [p for p in segment if start <= p[0] <= end] or segment
            segment = _decimate(segment, frame.x, frame.columns)
            if step:
                coords = []
                for j, (t, v) in enumerate(segment):
                    if j:
                        coords.append((frame.x(t), frame.y(segment[j - 1][1])))
                    coords.append((frame.x(t), frame.y(v)))
            else:
                coords = [(frame.x(t), frame.y(v)) for t, v in segment]
            drawn += len(segment)
            name = escape(s.name)
            if len(coords) == 1:
                x, y = coords[0]
                parts.append(f'<circle class="series" cx="{x:.1f}" cy="{y:.1f}" r="2" '
                             f'fill="{color}"><title>{name}</title></circle>')
                continue
            text = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(f'<polyline class="series" fill="none" stroke="{color}" '
                         f'points="{text}"><title>{name}</title></polyline>')
    if not has_data:
        parts.append(f'<text class="nodata" x="{(frame.left + frame.right) / 2:.0f}" '
                     f'y="{(frame.top + frame.bottom) / 2 + 6:.0f}" '
                     f'text-anchor="middle">no data</text>')
    parts.append("</svg>")
    return Chart(svg=Markup("".join(parts)), legend=legend, has_data=has_data, drawn_points=drawn)


def timeline_chart(
    bars: Sequence[Bar],
    *,
    start: float,
    end: float,
    bands: Sequence[Band] = (),
    title: str = "experiment timeline",
    width: int = 960,
) -> Chart:
    """One row per activity, a bar from its start to its end, coloured by status."""
    row_h = 18
    label_w = 230
    known = [b for b in bars if b.start is not None]
    if known:
        start = min(start, min(b.start for b in known if b.start is not None))
        end = max(end, max((b.end or b.start or end) for b in known))
    height = 30 + 11 + max(len(bars), 1) * row_h + 26
    frame = _Frame(width, height, start, end, 0, 1, left=label_w, top=30 + 11)
    parts = frame.open(title, css="chart timeline")
    parts.extend(frame.x_axis())
    parts.extend(frame.bands(bands, ()))
    for i, bar in enumerate(bars):
        y = frame.top + i * row_h
        label = bar.label if len(bar.label) <= 34 else bar.label[:33] + "…"
        parts.append(f'<text class="bar-label" x="{label_w - 6}" y="{y + 13}" '
                     f'text-anchor="end">{escape(bar.kind)}: {escape(label)}</text>')
        if bar.start is None:
            continue
        color = STATUS_COLORS.get(bar.status, "#6b7280")
        x0 = frame.x(bar.start)
        x1 = frame.x(bar.end if bar.end is not None else bar.start)
        w = max(x1 - x0, 5.0)  # an instant action stays visible on a long axis
        tip = (f"{bar.kind} {bar.label}: {bar.status}, {fmt.clock(bar.start - frame.start)}"
               f" for {fmt.duration((bar.end or bar.start) - bar.start)}")
        parts.append(f'<rect class="bar" x="{x0:.1f}" y="{y + 3}" width="{w:.1f}" '
                     f'height="{row_h - 6}" fill="{color}"><title>{escape(tip)}</title></rect>')
    if not bars:
        parts.append(f'<text class="nodata" x="{(frame.left + frame.right) / 2:.0f}" '
                     f'y="{frame.top + 14}" text-anchor="middle">no data</text>')
    parts.append("</svg>")
    return Chart(svg=Markup("".join(parts)), has_data=bool(known), drawn_points=len(known))


def sparkline(values: Sequence[float | None], colors: Sequence[str], *, label: str,
              width: int = 180, height: int = 36) -> Markup:
    """Scores over time, one dot per run coloured by verdict; "no data" when none has a score."""
    pad = 5
    finite = [v for v in values if v is not None and math.isfinite(v)]
    parts = [f'<svg class="spark" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(label)}">']
    if not finite:
        parts.append(f'<text class="nodata" x="{width / 2:.0f}" y="{height / 2 + 4:.0f}" '
                     f'text-anchor="middle">no data</text></svg>')
        return Markup("".join(parts))
    low, high = min(0.0, min(finite)), max(100.0, max(finite))
    n = len(values)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (i / (n - 1) if n > 1 else 0.5) * (width - 2 * pad)
        y = height - pad - (v - low) / (high - low) * (height - 2 * pad)
        return x, y

    points = [xy(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if len(points) > 1:
        text = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline fill="none" stroke="#6b7280" stroke-width="1" points="{text}"/>')
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            continue
        x, y = xy(i, v)
        color = colors[i] if i < len(colors) else "#6b7280"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}">'
                     f'<title>{escape(fmt.number(v))}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))
