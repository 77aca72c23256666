"""What every driver offers, and the helper that holds a fault for its duration.

An experiment names *what* to break; a driver knows *how* on its target.
Every fault-injecting method follows the same life cycle (``held_fault``):
record it in the ledger, inject it, hold it for its duration (released early
on SIGINT/SIGTERM), remove it and verify the removal, close the record. The
removal runs in a ``finally``: a failed hold, an exception or an interrupt
still removes the fault, and a removal that fails is raised (the run fails)
and left open in the ledger for the sweep and the residue audit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from tradestorm_chaos.errors import FaultNotRemoved
from tradestorm_chaos.ledger import FaultRecord
from tradestorm_chaos.session import RunSession

logger = logging.getLogger("tradestorm_chaos")


@dataclass(frozen=True)
class ResidueItem:
    """One thing a run left behind (``residue.json`` items)."""

    kind: str  # proxy_fault | database_stopped | replicas_not_ready | scaled_down | ...
    target: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class Driver(Protocol):
    """One target's way of breaking (and checking) the platform."""

    target: str

    def preflight(self) -> None:
        """Check the target is reachable and allowed; remember its baseline."""

    # faults ---------------------------------------------------------------
    def kill_replicas(self, service: str, count: int) -> dict[str, Any]: ...
    def add_latency(self, service: str, ms: int, jitter_ms: int,
                    duration_s: float) -> dict[str, Any]: ...
    def partition(self, service: str, duration_s: float) -> dict[str, Any]: ...
    def service_outage(self, service: str, duration_s: float) -> dict[str, Any]: ...
    def database_outage(self, duration_s: float) -> dict[str, Any]: ...
    def cpu_stress(self, service: str, duration_s: float, workers: int,
                   load: int) -> dict[str, Any]: ...
    def drain_node(self, service: str, duration_s: float) -> dict[str, Any]: ...

    # rollbacks ------------------------------------------------------------
    def remove_faults(self, service: str | None) -> list[str]: ...
    def restore_database(self) -> bool: ...
    def undo(self, record: FaultRecord) -> None:
        """Undo one ledger record (idempotent: already undone is fine)."""

    # probes ---------------------------------------------------------------
    def service_ready(self, service: str) -> bool: ...
    def replicas(self, service: str) -> tuple[int, int]:
        """(ready, desired) replicas of a service."""
    def database_up(self) -> bool: ...
    def prometheus_url(self) -> str | None: ...
    def services(self) -> list[str]: ...

    # audit ----------------------------------------------------------------
    def residue(self) -> list[ResidueItem]:
        """Everything left behind right now (one look, no waiting)."""


def held_fault(
    session: RunSession,
    *,
    action: str,
    target: str,
    args: dict[str, Any],
    describe: str,
    inject: Callable[[], dict[str, Any]],
    remove: Callable[[dict[str, Any]], None],
    duration_s: float,
) -> dict[str, Any]:
    """Inject a fault, hold it ``duration_s`` seconds, then remove it (always)."""
    session.check_not_aborted()
    if session.dry_run:
        session.plan(f"{describe} for {duration_s:g}s, then remove it")
        return {"dry_run": True, "action": action, "target": target, **args}
    # the fault starts when its injection starts (a database takes a while to stop, and the
    # requests fail from the first moment): the gate counts the fault phase from here
    record = session.ledger.open(action, target, args)
    try:
        undo = inject()
        record.undo.update(undo)
        logger.info("fault %s on %s injected (%s), held %.1fs", action, target, undo, duration_s)
        session.hold(duration_s)
    finally:
        try:
            remove(record.undo)
        except Exception as exc:
            record.removal_error = str(exc)
            logger.error("fault %s on %s could NOT be removed: %s", action, target, exc)
            raise FaultNotRemoved(f"{action} on {target} could not be removed: {exc}") from exc
        session.ledger.close(record)
    return {"action": action, "target": target, "start": record.start, "end": record.end,
            **record.undo}


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.25,
               session: RunSession | None = None) -> bool:
    """Poll ``predicate`` until true or ``timeout_s``; True when it became true."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if predicate():
                return True
        except Exception as exc:  # a probe that errors is just "not yet"
            logger.debug("wait_until: %s", exc)
        if time.monotonic() >= deadline:
            return False
        if session is not None and session.abort.wait(interval_s):
            return False
        if session is None:
            time.sleep(interval_s)
