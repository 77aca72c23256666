"""The gate's result (``slo.json``): objectives per phase, recovery times, HPA checks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from reports import fmt
from reports.errors import ResultsFileError
from reports.fields import Fields
from reports.results import ResultsFolder
from reports.run_info import PHASE_ORDER

_OPS = {"<=": "≤", ">=": "≥", "==": "=", "!=": "≠"}


@dataclass(frozen=True)
class ObjectiveRow:
    name: str
    description: str
    phase: str
    side: str
    value: float | None
    unit: str | None
    op: str
    target: float | None
    warning: float | None
    verdict: str
    key: bool
    weight: float | None
    detail: str
    query: str
    route_class: str | None = None  # the route class judged (slo.json ``route_class``)
    relative_to: str | None = None  # a relative objective: value is a ratio to this phase
    interval: tuple[float, float] | None = None  # its 95 % bootstrap confidence interval
    source: str = "prometheus"  # judged on: "prometheus" (10 s windows), "hdr:sent", "hdr:intended"

    @property
    def judged_on(self) -> str:
        """What the value was measured on, as the report says it."""
        return {"hdr:sent": "every answer (HDR), from the send",
                "hdr:intended": "every answer (HDR), from the intended send"}.get(
                    self.source, "10 s windows (Prometheus)")

    @property
    def measured(self) -> str:
        if self.value is None:
            return "no data"
        if self.relative_to is not None:
            text = f"{self.value:.3g}× {self.relative_to}"
            if self.interval is not None:
                text += f" (95 % {self.interval[0]:.3g}–{self.interval[1]:.3g}×)"
            return text
        return fmt.value(self.value, self.unit)

    @property
    def objective(self) -> str:
        op = _OPS.get(self.op, self.op)
        if self.relative_to is not None:
            text = f"{op} {self.target:g}× {self.relative_to}" if self.target is not None else "—"
            if self.warning is not None:
                text += f" (warn {op} {self.warning:g}×)"
            return text
        text = f"{op} {fmt.value(self.target, self.unit)}" if self.target is not None else "—"
        if self.warning is not None:
            text += f" (warn {op} {fmt.value(self.warning, self.unit)})"
        return text

    @property
    def lower_is_better(self) -> bool | None:
        if self.op.startswith("<"):
            return True
        if self.op.startswith(">"):
            return False
        return None


@dataclass(frozen=True)
class PhaseGroup:
    phase: str
    rows: list[ObjectiveRow]


#: the route classes in the order the latency table shows them (slo/spec.py ROUTE_CLASSES)
ROUTE_CLASS_ORDER = ("order-entry", "reads", "analytics")


@dataclass(frozen=True)
class ClassLatencyRow:
    """One route class and side of the latency table: its objective per phase."""

    route_class: str
    side: str
    name: str
    key: bool
    cells: dict[str, ObjectiveRow]  # phase -> the objective judged there


@dataclass(frozen=True)
class RecoveryRow:
    name: str
    sli: str
    fault: str
    fault_end: float | None
    recovered_at: float | None
    seconds: float | None
    target_seconds: float | None
    verdict: str
    detail: str


@dataclass(frozen=True)
class HpaRow:
    name: str
    service: str
    verdict: str
    scale_out_seconds: float | None
    max_replicas_hit: bool | None
    scaled_in: bool | None
    flaps: int | None
    detail: str


@dataclass
class SloView:
    present: bool
    objectives: list[ObjectiveRow] = field(default_factory=list)
    recovery: list[RecoveryRow] = field(default_factory=list)
    hpa: list[HpaRow] = field(default_factory=list)
    relative: list[dict] = field(default_factory=list)

    @property
    def groups(self) -> list[PhaseGroup]:
        phases = sorted({o.phase for o in self.objectives},
                        key=lambda p: (PHASE_ORDER.index(p) if p in PHASE_ORDER else 99, p))
        return [PhaseGroup(p, [o for o in self.objectives if o.phase == p]) for p in phases]

    @property
    def latency_phases(self) -> list[str]:
        phases = {p for row in self.latency_by_class for p in row.cells}
        return sorted(phases, key=lambda p: (PHASE_ORDER.index(p) if p in PHASE_ORDER else 99, p))

    @property
    def latency_by_class(self) -> list[ClassLatencyRow]:
        """Latency objectives judged per route class (unit seconds), one row per class and
        side: order entry, reads and analytics apart."""
        rows: dict[tuple[str, str, str], ClassLatencyRow] = {}
        for o in self.objectives:
            if o.route_class is None or o.unit != "s":
                continue
            k = (o.route_class, o.side, o.name)
            if k not in rows:
                rows[k] = ClassLatencyRow(o.route_class, o.side, o.name, o.key, {})
            rows[k].cells[o.phase] = o

        def order(k: tuple[str, str, str]) -> tuple[int, str, str, str]:
            cls, side, name = k
            rank = ROUTE_CLASS_ORDER.index(cls) if cls in ROUTE_CLASS_ORDER else 99
            return (rank, cls, side, name)

        return [rows[k] for k in sorted(rows, key=order)]

    @property
    def counts(self) -> Counter:
        return Counter(o.verdict for o in self.objectives)

    @property
    def failing(self) -> list[ObjectiveRow]:
        return [o for o in self.objectives if o.verdict in ("fail", "warning")]


def _pair(item: Fields, key: str) -> tuple[float, float] | None:
    """``[low, high]`` or None when absent."""
    if not item.has(key) or item.data.get(key) is None:
        return None
    raw = item.raw_list(key)
    if len(raw) != 2 or not all(isinstance(x, int | float) and not isinstance(x, bool)
                                for x in raw):
        raise ResultsFileError(item.path, f"{item.prefix}.{key}", f"expected [low, high], "
                               f"got {raw!r}")
    return float(raw[0]), float(raw[1])


def read_slo(folder: ResultsFolder) -> SloView:
    slo = folder.slo
    if slo is None:
        return SloView(present=False)
    view = SloView(present=True)
    for o in slo.objs("objectives"):
        view.objectives.append(ObjectiveRow(
            name=o.text("name") or "(unnamed)",
            description=o.text("description") or "",
            phase=o.text("phase") or "run",
            side=o.text("side") or "",
            value=o.number("value"),
            unit=o.text("unit"),
            op=o.text("op") or "",
            target=o.number("target"),
            warning=o.number("warning"),
            verdict=o.text("verdict") or "unknown",
            key=bool(o.flag("key")),
            weight=o.number("weight"),
            detail=o.text("detail") or "",
            query=o.text("query") or "",
            route_class=o.text("route_class"),
            relative_to=o.text("relative_to"),
            interval=_pair(o, "interval"),
            source=o.text("source") or "prometheus",
        ))
    for r in slo.objs("recovery"):
        view.recovery.append(RecoveryRow(
            name=r.text("name") or "(unnamed)",
            sli=r.text("sli") or "",
            fault=r.text("fault") or "",
            fault_end=r.number("fault_end"),
            recovered_at=r.number("recovered_at"),
            seconds=r.number("seconds"),
            target_seconds=r.number("target_seconds"),
            verdict=r.text("verdict") or "unknown",
            detail=r.text("detail") or "",
        ))
    for h in slo.objs("hpa"):
        view.hpa.append(HpaRow(
            name=h.text("name") or "(unnamed)",
            service=h.text("service") or "",
            verdict=h.text("verdict") or "unknown",
            scale_out_seconds=h.number("scale_out_seconds"),
            max_replicas_hit=h.flag("max_replicas_hit"),
            scaled_in=h.flag("scaled_in"),
            flaps=h.integer("flaps"),
            detail=h.text("detail") or "",
        ))
    comparison = slo.obj("comparison")
    if comparison is not None:
        for item in comparison.objs("items"):
            view.relative.append({
                "name": item.text("name") or "",
                "objective": item.text("objective") or "",
                "phase": item.text("phase") or "",
                "detail": item.text("detail") or "",
                "previous": item.number("previous"),
                "current": item.number("current"),
                "change_pct": item.number("change_pct"),
                "verdict": item.text("verdict") or "",
            })
    return view
