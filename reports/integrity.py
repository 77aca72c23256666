"""Data integrity: did we lose or duplicate a single acknowledged order?

From ``reconcile.json`` (checks and offending orders) and the gate's
``integrity`` summary in ``slo.json``. Offending order ids are listed in full
up to :data:`MAX_IDS` per violation; the rest are counted (reconcile.json keeps all).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.experiment import short
from reports.results import ResultsFolder

MAX_IDS = 500


@dataclass(frozen=True)
class CheckRow:
    name: str
    ok: bool | None
    violations: int | None
    detail: str


@dataclass(frozen=True)
class Offending:
    check: str
    order_ids: list[str]
    client_order_ids: list[str]
    more: int
    detail: str


@dataclass
class IntegrityView:
    present: bool
    verdict: str = "no data"
    ok: bool | None = None
    acknowledged: int | None = None
    lost: int | None = None
    duplicated: int | None = None
    violations: int | None = None
    checks: list[CheckRow] = field(default_factory=list)
    offending: list[Offending] = field(default_factory=list)


def _count_from_checks(checks: list[CheckRow], words: tuple[str, ...]) -> int | None:
    matching = [c for c in checks if any(w in c.name.lower() for w in words)]
    if not matching:
        return None
    return sum(c.violations or 0 for c in matching)


def read_integrity(folder: ResultsFolder) -> IntegrityView:
    reconcile, slo = folder.reconcile, folder.slo
    summary = slo.obj("integrity") if slo else None
    if reconcile is None and summary is None:
        return IntegrityView(present=False)
    view = IntegrityView(present=True)
    if reconcile is not None:
        view.ok = reconcile.flag("ok")
        view.acknowledged = reconcile.integer("acknowledged")
        for check in reconcile.objs("checks"):
            view.checks.append(CheckRow(check.text("name") or "(unnamed)", check.flag("ok"),
                                        check.integer("violations"), short(check.text("detail"))))
        for v in reconcile.objs("violations"):
            order_ids, client_ids = v.strs("order_ids"), v.strs("client_order_ids")
            more = max(len(order_ids), len(client_ids)) - MAX_IDS
            view.offending.append(Offending(
                check=v.text("check") or "",
                order_ids=order_ids[:MAX_IDS],
                client_order_ids=client_ids[:MAX_IDS],
                more=max(more, 0),
                detail=short(v.text("detail")),
            ))
        view.violations = sum(c.violations or 0 for c in view.checks) if view.checks else None
        view.lost = _count_from_checks(view.checks, ("lost", "missing", "acknowledged"))
        view.duplicated = _count_from_checks(view.checks, ("duplicate",))
        view.verdict = {True: "pass", False: "fail", None: "no data"}[view.ok]
    if summary is not None:
        view.verdict = summary.text("verdict") or view.verdict
        view.acknowledged = summary.integer("acknowledged", view.acknowledged)
        view.lost = summary.integer("lost", view.lost)
        view.duplicated = summary.integer("duplicated", view.duplicated)
        view.violations = summary.integer("violations", view.violations)
        if view.ok is None and view.verdict in ("pass", "fail"):
            view.ok = view.verdict == "pass"
    return view
