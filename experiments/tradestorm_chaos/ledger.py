"""The fault ledger: every fault a run injected, when it started and when it ended.

Drivers record a fault *before* touching the target (so a crash half-way
still leaves a trace of what may need undoing) and close it once the removal
is verified. ``execution`` turns closed entries into the ``faults`` of
``run.json`` and sweeps open ones after the rollbacks: a fault that is still
open when the experiment ends is removed by the sweep and, if that fails,
reported as residue.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

_ids = itertools.count(1)


@dataclass
class FaultRecord:
    action: str  # e.g. "add_latency", "kill_replicas"
    target: str  # the service (or "database", a node name)
    args: dict[str, Any]
    undo: dict[str, Any]  # what the driver needs to remove it (fault id, object name, replicas)
    start: float = field(default_factory=time.time)
    end: float | None = None
    id: int = field(default_factory=lambda: next(_ids))
    removal_error: str | None = None

    @property
    def open(self) -> bool:
        return self.end is None

    def to_run_json(self) -> dict[str, Any]:
        """The ``faults`` entry of ``run.json`` (docs/contracts.md §4)."""
        return {"action": self.action, "target": self.target, "args": dict(self.args),
                "start": self.start, "end": self.end}


class FaultLedger:
    """Thread-safe list of ``FaultRecord`` (background activities run in threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[FaultRecord] = []

    def open(self, action: str, target: str, args: dict[str, Any],
             undo: dict[str, Any] | None = None) -> FaultRecord:
        record = FaultRecord(action=action, target=target, args=dict(args), undo=dict(undo or {}))
        with self._lock:
            self._records.append(record)
        return record

    def close(self, record: FaultRecord, at: float | None = None) -> None:
        with self._lock:
            if record.end is None:
                record.end = time.time() if at is None else at
                record.removal_error = None

    def records(self) -> list[FaultRecord]:
        with self._lock:
            return list(self._records)

    def open_records(self, target: str | None = None) -> list[FaultRecord]:
        with self._lock:
            return [r for r in self._records if r.open and (target is None or r.target == target)]
