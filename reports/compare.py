"""Comparison with the previous run of the same scenario: what got better, what got worse.

The previous run is found next to this one by :mod:`runfolder.history` (the same
rule as the gate's relative criteria, without asking that it passed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from reports import fmt
from reports.integrity import read_integrity
from reports.objectives import read_slo
from reports.results import ResultsFolder
from reports.run_info import read_run_info, read_verdict
from runfolder.history import previous_run

UNCHANGED_WITHIN_PCT = 5.0
_VERDICT_RANK = {"pass": 4, "warning": 3, "not_applicable": 2, "inconclusive": 1, "no_data": 1,
                 "not evaluated": 1, "unknown": 1, "fail": 0, "error": 0}


@dataclass(frozen=True)
class ChangeItem:
    area: str
    name: str
    previous: str
    current: str
    change_pct: float | None
    direction: str  # better | worse | unchanged | changed

    @property
    def change(self) -> str:
        return fmt.signed_percent(self.change_pct)


@dataclass
class ComparisonView:
    previous_dir: Path | None
    previous_run_id: str = ""
    previous_started_at: float | None = None
    problem: str = ""
    items: list[ChangeItem] = field(default_factory=list)

    def having(self, direction: str) -> list[ChangeItem]:
        return [i for i in self.items if i.direction == direction]


def find_previous_run(results_dir: Path, scenario: str, started_at: float | None,
                      target: str | None = None) -> Path | None:
    """The latest earlier run of ``scenario`` (on ``target``, when given) among the
    siblings of ``results_dir``, whatever its verdict (:mod:`runfolder.history`)."""
    if started_at is None:
        return None
    found = previous_run(results_dir, scenario, started_at, target)
    return None if found is None else found[0]


def _direction(previous: float | None, current: float | None, lower_is_better: bool | None,
               ) -> tuple[float | None, str]:
    change = fmt.percent_change(previous, current)
    if previous is None or current is None:
        return change, "changed" if previous != current else "unchanged"
    if previous == current or (change is not None and not math.isinf(change)
                               and abs(change) <= UNCHANGED_WITHIN_PCT):
        return change, "unchanged"
    if lower_is_better is None:
        return change, "changed"
    return change, "better" if (current < previous) == lower_is_better else "worse"


def _verdict_direction(previous: str, current: str) -> str:
    a, b = _VERDICT_RANK.get(previous, 1), _VERDICT_RANK.get(current, 1)
    return "unchanged" if a == b else "better" if b > a else "worse"


def compare_runs(current: ResultsFolder, previous: ResultsFolder) -> ComparisonView:
    info = read_run_info(previous)
    view = ComparisonView(previous.path, info.run_id, info.started_at)
    items = view.items
    cur_v, prev_v = read_verdict(current), read_verdict(previous)
    items.append(ChangeItem("verdict", "gate verdict", prev_v.verdict, cur_v.verdict, None,
                            _verdict_direction(prev_v.verdict, cur_v.verdict)))
    change, direction = _direction(prev_v.score, cur_v.score, lower_is_better=False)
    items.append(ChangeItem("verdict", "score", fmt.number(prev_v.score), fmt.number(cur_v.score),
                            change, direction))

    prev_slo, cur_slo = read_slo(previous), read_slo(current)
    before = {(o.name, o.phase): o for o in prev_slo.objectives}
    for o in cur_slo.objectives:
        p = before.get((o.name, o.phase))
        if p is None:
            continue
        change, direction = _direction(p.value, o.value, o.lower_is_better)
        verdict_move = _verdict_direction(p.verdict, o.verdict)
        if verdict_move != "unchanged":
            direction = verdict_move
        items.append(ChangeItem(f"SLO · {o.phase}", o.name, f"{p.measured} ({p.verdict})",
                                f"{o.measured} ({o.verdict})", change, direction))
    prev_rec = {r.name: r for r in prev_slo.recovery}
    for r in cur_slo.recovery:
        p = prev_rec.get(r.name)
        if p is None:
            continue
        if (p.seconds is None) != (r.seconds is None):  # recovered vs never recovered
            direction = "better" if r.seconds is not None else "worse"
            change = None
        else:
            change, direction = _direction(p.seconds, r.seconds, lower_is_better=True)
        items.append(ChangeItem("recovery", r.name, fmt.duration(p.seconds) if p.seconds is not None
                                else "not recovered", fmt.duration(r.seconds) if r.seconds is not
                                None else "not recovered", change, direction))

    prev_int, cur_int = read_integrity(previous), read_integrity(current)
    for label, a, b in (("lost orders", prev_int.lost, cur_int.lost),
                        ("duplicated orders", prev_int.duplicated, cur_int.duplicated)):
        if a is None and b is None:
            continue
        change, direction = _direction(a, b, lower_is_better=True)
        items.append(ChangeItem("integrity", label, fmt.number(a), fmt.number(b), change,
                                direction))

    prev_total = previous.locust.total if previous.locust else None
    cur_total = current.locust.total if current.locust else None
    if prev_total and cur_total:
        pairs = (
            ("failure ratio", prev_total.failure_ratio, cur_total.failure_ratio, "ratio", True),
            ("p95 response time", prev_total.p95_ms, cur_total.p95_ms, "ms", True),
            ("p99 response time", prev_total.p99_ms, cur_total.p99_ms, "ms", True),
            ("throughput", prev_total.rps, cur_total.rps, "req/s", None),
        )
        for label, a, b, unit, lower in pairs:
            change, direction = _direction(a, b, lower)
            items.append(ChangeItem("load (Locust)", label, fmt.value(a, unit), fmt.value(b, unit),
                                    change, direction))
    order = {"worse": 0, "better": 1, "changed": 2, "unchanged": 3}
    items.sort(key=lambda i: order.get(i.direction, 9))
    return view
