"""The residue audit: after the rollbacks, is anything left behind?

A residue is a failed run. The audit asks the driver what is left (proxy
faults, a stopped database, scaled-down workloads, NetworkPolicies, Chaos Mesh
objects, cordoned nodes, replicas not ready). Replicas that are still
restarting converge on their own, so the audit waits up to a timeout while
*only* such items remain; anything else is reported at once.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tradestorm_chaos.drivers.base import Driver, ResidueItem
from tradestorm_chaos.errors import ChaosError

CONVERGING = frozenset({"replicas_not_ready"})


def audit(driver: Driver, timeout_s: float, interval_s: float = 0.5) -> list[ResidueItem]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            items = driver.residue()
        except ChaosError as exc:
            items = [ResidueItem("audit_failed", driver.target, str(exc))]
        except Exception as exc:  # a driver bug: still a (failed) audit, never a lost residue
            items = [ResidueItem("audit_failed", driver.target, f"{type(exc).__name__}: {exc}")]
        if not items:
            return []
        if any(i.kind not in CONVERGING for i in items) or time.monotonic() >= deadline:
            return items
        time.sleep(interval_s)


def residue_document(items: list[ResidueItem], *, checked: bool = True,
                     note: str | None = None) -> dict[str, Any]:
    """The ``residue.json`` document (docs/contracts.md §4)."""
    doc: dict[str, Any] = {"clean": checked and not items,
                           "items": [i.to_dict() for i in items]}
    if note:
        doc["note"] = note
    return doc


def write_residue(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
