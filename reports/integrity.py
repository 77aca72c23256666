"""Data integrity: did we lose or duplicate a single acknowledged order?

From ``reconcile.json`` (``loadtests.reconcile``: top-level ``lost``,
``duplicated``, ``phantom``, ``conclusive``, per-check results and one
violation per offending order) and the gate's ``integrity`` summary in
``slo.json``. Offending orders are grouped by check and listed up to
:data:`MAX_ROWS` per check; the rest are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.experiment import short
from reports.results import ResultsFolder

MAX_ROWS = 500
_LOST_WORDS = ("lost", "missing", "orders_exist")
_DUPLICATE_WORDS = ("dup", "unique")


@dataclass(frozen=True)
class CheckRow:
    name: str
    ok: bool | None
    violations: int | None
    checked: int | None
    detail: str


@dataclass(frozen=True)
class OffendingRow:
    order_ids: str
    client_order_ids: str
    detail: str


@dataclass
class Offending:
    check: str
    rows: list[OffendingRow] = field(default_factory=list)
    more: int = 0

    @property
    def order_ids(self) -> list[str]:
        return [i for r in self.rows for i in r.order_ids.split() if i]


@dataclass
class IntegrityView:
    present: bool
    verdict: str = "no_data"
    ok: bool | None = None
    conclusive: bool | None = None
    acknowledged: int | None = None
    submitted: int | None = None
    lost: int | None = None
    duplicated: int | None = None
    phantom: int | None = None
    violations: int | None = None
    detail: str = ""
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)
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
        view.conclusive = reconcile.flag("conclusive")
        view.acknowledged = reconcile.integer("acknowledged")
        view.submitted = reconcile.integer("submitted")
        view.truncated = bool(reconcile.flag("violations_truncated"))
        view.warnings = [short(w) for w in reconcile.strs("warnings")]
        for check in reconcile.objs("checks"):
            view.checks.append(CheckRow(check.text("name") or "(unnamed)", check.flag("ok"),
                                        check.integer("violations"), check.integer("checked"),
                                        short(check.text("detail"))))
        groups: dict[str, Offending] = {}
        for v in reconcile.objs("violations"):
            name = v.text("check") or "(unnamed check)"
            group = groups.setdefault(name, Offending(name))
            if len(group.rows) >= MAX_ROWS:
                group.more += 1
                continue
            group.rows.append(OffendingRow(" ".join(v.strs("order_ids")),
                                           " ".join(v.strs("client_order_ids")),
                                           short(v.text("detail"), 300)))
        view.offending = list(groups.values())
        view.violations = sum(c.violations or 0 for c in view.checks) if view.checks else None
        view.lost = reconcile.integer("lost", _count_from_checks(view.checks, _LOST_WORDS))
        view.duplicated = reconcile.integer(
            "duplicated", _count_from_checks(view.checks, _DUPLICATE_WORDS))
        view.phantom = reconcile.integer("phantom")
        if view.ok is False:
            view.verdict = "fail"
        elif view.ok and view.conclusive is not False:
            view.verdict = "pass"
    if summary is not None:
        view.verdict = summary.text("verdict") or view.verdict
        view.acknowledged = summary.integer("acknowledged", view.acknowledged)
        view.lost = summary.integer("lost", view.lost)
        view.duplicated = summary.integer("duplicated", view.duplicated)
        view.violations = summary.integer("violations", view.violations)
        view.detail = summary.text("detail") or ""
        if view.ok is None and view.verdict in ("pass", "fail"):
            view.ok = view.verdict == "pass"
    return view
