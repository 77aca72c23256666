"""Reconciliation results and ``reconcile.json`` (docs/contracts.md §4)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_VIOLATIONS_PER_CHECK = 1000


@dataclass(frozen=True)
class Violation:
    check: str
    detail: str
    order_ids: tuple[str, ...] = ()
    client_order_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "order_ids": list(self.order_ids),
            "client_order_ids": list(self.client_order_ids),
            "detail": self.detail,
        }


@dataclass
class CheckResult:
    name: str
    description: str
    violations: list[Violation] = field(default_factory=list)
    checked: int = 0  # how many items the check looked at

    @property
    def ok(self) -> bool:
        return not self.violations

    def add(self, detail: str, order_ids: Any = (), client_order_ids: Any = ()) -> None:
        self.violations.append(
            Violation(self.name, detail, tuple(order_ids), tuple(client_order_ids))
        )

    @property
    def detail(self) -> str:
        if self.ok:
            return f"{self.description}: {self.checked} checked, no violation"
        first = self.violations[0].detail
        return f"{self.description}: {len(self.violations)} violation(s); first: {first}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "violations": len(self.violations),
            "checked": self.checked,
            "detail": self.detail,
        }


@dataclass
class ReconcileResult:
    checks: list[CheckResult]
    acknowledged: int
    submitted: int
    journals: list[str]
    warnings: list[str] = field(default_factory=list)
    window_start: float | None = None
    outbox_drained: bool = True
    outbox_wait_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def conclusive(self) -> bool:
        """False when there was nothing to prove: no order was acknowledged."""
        return self.acknowledged > 0

    @property
    def violations(self) -> list[Violation]:
        return [v for c in self.checks for v in c.violations]

    def count(self, name: str) -> int:
        return sum(len(c.violations) for c in self.checks if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        violations: list[dict[str, Any]] = []
        for check in self.checks:
            violations.extend(v.to_dict() for v in check.violations[:MAX_VIOLATIONS_PER_CHECK])
        return {
            "schema": 1,
            "ok": self.ok,
            "conclusive": self.conclusive,
            "acknowledged": self.acknowledged,
            "submitted": self.submitted,
            "lost": self.count("acknowledged_orders_exist"),
            "duplicated": self.count("acknowledged_orders_unique"),
            "phantom": self.count("no_phantom_orders"),
            "journals": self.journals,
            "window_start": self.window_start,
            "outbox": {"drained": self.outbox_drained, "waited_s": round(self.outbox_wait_s, 3)},
            "warnings": self.warnings,
            "checks": [c.to_dict() for c in self.checks],
            "violations": violations,
            "violations_truncated": len(violations) < len(self.violations),
        }


def write_result(result: ReconcileResult, results_dir: Path) -> Path:
    """Write ``RESULTS/reconcile.json`` atomically; returns its path."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / "reconcile.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
