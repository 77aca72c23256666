"""Verify a sealed results folder: nothing changed since it was sealed, and the saved
samples, judged again offline (no Prometheus), give the verdict that was recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runfolder.errors import RunFolderError
from runfolder.layout import SLO_JSON
from runfolder.manifest import ManifestCheck, check
from slo.errors import ResultsError
from slo.evidence import load_evidence
from slo.gate import judge
from slo.result import GateResult
from slo.run import read_run
from slo.validation import load_spec


@dataclass
class Verification:
    seal: ManifestCheck
    recorded: dict[str, Any]
    rejudged: GateResult
    differences: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.seal.intact and not self.differences


def verify(results_dir: Path) -> Verification:
    """Check the seal, then judge the saved samples again; raises :class:`ResultsError` when
    the folder has no readable manifest or evidence (nothing to verify is never "verified")."""
    try:
        seal = check(results_dir)
    except RunFolderError as exc:
        raise ResultsError(exc.source, exc.field, exc.problem) from None
    recorded_path = results_dir / SLO_JSON
    try:
        recorded = json.loads(recorded_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(recorded_path, "(file)", "no verdict to verify") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(recorded_path, "(json)", f"not valid JSON: {exc}") from None
    if not isinstance(recorded, dict):
        raise ResultsError(recorded_path, "(file)", "expected a JSON object")
    spec_path, fetched, error, previous = load_evidence(results_dir)
    spec = load_spec(spec_path)
    run = read_run(results_dir)
    evaluated_at = recorded.get("evaluated_at")
    rejudged = judge(spec, run, fetched, error,
                     started=float(evaluated_at) if isinstance(evaluated_at, int | float) else 0,
                     prometheus_url=recorded.get("prometheus_url"), previous=previous)
    again = json.loads(json.dumps(rejudged.to_dict(), allow_nan=False))
    return Verification(seal, recorded, rejudged, differences(recorded, again))


def differences(recorded: dict[str, Any], again: dict[str, Any]) -> list[str]:
    """What the offline verdict says differently from the recorded one."""
    out = [
        f"{key}: recorded {recorded.get(key)!r}, judged again {again.get(key)!r}"
        for key in ("verdict", "exit_code", "score")
        if recorded.get(key) != again.get(key)
    ]
    for section, keys in (("objectives", ("name", "phase")), ("recovery", ("name", "fault")),
                          ("hpa", ("name",)), ("run_checks", ("name",))):
        before = {tuple(i.get(k) for k in keys): i for i in recorded.get(section) or []}
        after = {tuple(i.get(k) for k in keys): i for i in again.get(section) or []}
        for item in sorted(set(before) | set(after), key=str):
            a, b = before.get(item), after.get(item)
            label = f"{section} {' '.join(str(x) for x in item)}"
            if a is None or b is None:
                out.append(f"{label}: {'only judged again' if a is None else 'only recorded'}")
            elif _judged(a) != _judged(b):
                out.append(f"{label}: recorded {_judged(a)}, judged again {_judged(b)}")
    integrity = (recorded.get("integrity") or {}).get("verdict"), (
        again.get("integrity") or {}).get("verdict")
    if integrity[0] != integrity[1]:
        out.append(f"integrity: recorded {integrity[0]}, judged again {integrity[1]}")
    return out


def _judged(item: dict[str, Any]) -> tuple[Any, ...]:
    """(verdict, value) of an item; recovery items measure seconds."""
    return item.get("verdict"), item.get("value", item.get("seconds"))
