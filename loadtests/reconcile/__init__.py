"""Reconciliation of a run's order journals against the platform's database.

    result = reconcile(dsn, results_dir / "journal")
    write_result(result, results_dir)        # RESULTS/reconcile.json
    result.ok                                # False: some order was lost, duplicated, mis-booked

The invariants are listed in :mod:`loadtests.reconcile.checks`. ``reconcile``
raises ``loadtests.errors.ReconcileError`` when it cannot decide (no journal,
corrupt journal, database unreachable): an error, never a pass.
"""

from __future__ import annotations

from pathlib import Path

from loadtests.reconcile.checks import run_checks
from loadtests.reconcile.journals import read_journals
from loadtests.reconcile.result import CheckResult, ReconcileResult, Violation, write_result
from loadtests.reconcile.snapshot import take_snapshot

__all__ = ["CheckResult", "ReconcileResult", "Violation", "reconcile", "write_result"]


def reconcile(
    dsn: str, journal_dir: Path, *, outbox_drain_timeout_s: float = 30, clock_skew_s: float = 5.0
) -> ReconcileResult:
    """Check the journals of ``journal_dir`` against the database at ``dsn``.

    Orders of the load accounts created between the earliest journal record and
    the latest (widened by ``clock_skew_s``) are in scope; the outbox is given
    ``outbox_drain_timeout_s`` to drain before the snapshot is read.
    """
    journals = read_journals(Path(journal_dir))
    since = journals.started_at - clock_skew_s
    until = max(journals.last_t, journals.started_at) + clock_skew_s
    acked_ids = sorted({str(a.get("order_id")) for acks in journals.acks.values() for a in acks})
    snap = take_snapshot(
        dsn,
        accounts=sorted(journals.accounts),
        since=since,
        until=until,
        acked_order_ids=acked_ids,
        drain_timeout_s=outbox_drain_timeout_s,
    )
    warnings = list(journals.warnings)
    checks = run_checks(journals, snap, warnings)
    return ReconcileResult(
        checks=checks,
        acknowledged=journals.acknowledged,
        submitted=len(journals.intents),
        journals=[str(p) for p in journals.files],
        warnings=warnings,
        window_start=since,
        outbox_drained=snap.drained,
        outbox_wait_s=snap.drain_waited_s,
    )
