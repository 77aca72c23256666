"""What a fault broke, in one sentence, from a gate result (``slo.json``).

A chaos run judges its objectives in the baseline (before the fault), the fault
and the recovery phases. The baseline says whether the platform met its SLOs at
rest; what fails only afterwards is the fault's doing. ``tradestorm demo`` ends
its verdict line with :func:`fault_summary`, e.g.::

    baseline held (12 objectives passed); the fault broke:
    client-latency-p99[order-entry] in fault, client-errors-recover
"""

from __future__ import annotations

from typing import Any

from slo.result import FAIL, NO_DATA, PASS, WARNING

_AFTER = ("fault", "recovery", "run")  # phases the fault can have broken


def _phases_text(name: str, phases: list[str]) -> str:
    return f"{name} in {' and '.join(phases)}" if phases else name


def _by_objective(objectives: list[dict[str, Any]], verdict: str, skip: set[str]) -> list[str]:
    """``name in fault and recovery`` for every objective with ``verdict`` after the baseline
    (except those in ``skip``: already failing before the fault), in the order of the spec."""
    found: dict[str, list[str]] = {}
    for o in objectives:
        if str(o.get("name")) in skip:
            continue
        if o.get("phase") in _AFTER and o.get("verdict") == verdict:
            found.setdefault(str(o.get("name")), []).append(str(o["phase"]))
    return [_phases_text(name, phases) for name, phases in found.items()]


def fault_summary(slo: dict[str, Any]) -> str:
    """One sentence: did the baseline hold, and which objectives the fault broke (failed
    in the fault, recovery or whole-run phase but not before it; recovery times, integrity) or
    bent (warnings)."""
    objectives = [o for o in slo.get("objectives") or [] if isinstance(o, dict)]
    baseline = [o for o in objectives if o.get("phase") == "baseline"]
    failed = [str(o.get("name")) for o in baseline if o.get("verdict") == FAIL]
    missing = [str(o.get("name")) for o in baseline if o.get("verdict") == NO_DATA]
    passed = sum(1 for o in baseline if o.get("verdict") in (PASS, WARNING))
    if not baseline:
        before = "no baseline judged"
    elif failed:
        before = (f"baseline did NOT hold ({len(failed)} of {len(baseline)} objectives failed "
                  f"before the fault: {', '.join(failed)}), so not all that follows is the "
                  "fault's doing")
    elif missing:
        before = f"baseline without data for {', '.join(missing)}"
    else:
        before = f"baseline held ({passed} objectives passed)"

    broke = _by_objective(objectives, FAIL, set(failed))
    bent = _by_objective(objectives, WARNING, set(failed))
    for r in slo.get("recovery") or []:
        if isinstance(r, dict) and r.get("verdict") in (FAIL, WARNING):
            seconds = r.get("seconds")
            took = "not recovered" if seconds is None else f"{float(seconds):.1f} s"
            (broke if r["verdict"] == FAIL else bent).append(f"{r.get('name')} ({took})")
    integrity = slo.get("integrity")
    if isinstance(integrity, dict) and integrity.get("verdict") == FAIL:
        lost = integrity.get("lost")
        broke.append(f"integrity ({lost} orders lost)" if lost else "integrity")
    after = ("the fault broke: " + ", ".join(broke)) if broke else "the fault broke no objective"
    if bent:
        after += f" (warnings: {', '.join(bent)})"
    return f"{before}; {after}"
