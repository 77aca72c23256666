"""Data integrity as an objective: the run's ``reconcile.json`` (docs/contracts.md §4).

A missing reconcile.json is no data (never a pass); a malformed one is an
input error naming the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slo.errors import ResultsError
from slo.result import FAIL, NO_DATA, NOT_APPLICABLE, PASS, IntegrityResult
from slo.spec import Integrity

_LOST_WORDS = ("lost", "missing")
_DUPLICATE_WORDS = ("dup",)


def evaluate_integrity(policy: Integrity, results_dir: Path | None) -> IntegrityResult | None:
    if not policy.enabled:
        return None
    result = IntegrityResult(
        verdict=NO_DATA,
        acknowledged=None,
        lost=None,
        duplicated=None,
        violations=None,
        key=policy.key,
        weight=policy.weight,
    )
    if results_dir is None:
        result.verdict = NOT_APPLICABLE
        result.detail = "a bare time window has no order journal to reconcile"
        return result
    path = results_dir / "reconcile.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        result.detail = "no reconcile.json in the results folder: integrity was not checked"
        return result
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(path, "(file)", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ResultsError(path, "(file)", "expected a JSON object")
    ok = data.get("ok")
    if not isinstance(ok, bool):
        raise ResultsError(path, "ok", f"expected true or false, got {ok!r}")
    checks = data.get("checks", [])
    if not isinstance(checks, list):
        raise ResultsError(path, "checks", "expected a list")
    acknowledged = data.get("acknowledged")
    if acknowledged is not None and (
        isinstance(acknowledged, bool) or not isinstance(acknowledged, int)
    ):
        raise ResultsError(path, "acknowledged", f"expected an integer, got {acknowledged!r}")
    counted = [_check(path, i, c) for i, c in enumerate(checks)]
    result.checks = counted
    result.acknowledged = acknowledged
    result.violations = sum(c["violations"] for c in counted)
    result.lost = sum(c["violations"] for c in counted if _has(c["name"], _LOST_WORDS))
    result.duplicated = sum(c["violations"] for c in counted if _has(c["name"], _DUPLICATE_WORDS))
    failed = [c["name"] for c in counted if not c["ok"]]
    if ok and not failed:
        result.verdict = PASS
        result.detail = (
            f"{acknowledged} acknowledged orders reconciled, {len(counted)} checks passed"
        )
    else:
        result.verdict = FAIL
        result.detail = (
            f"reconcile failed: {', '.join(failed) or 'ok is false'} "
            f"({result.violations} violations)"
        )
    return result


def _check(path: Path, index: int, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ResultsError(path, f"checks[{index}].name", "expected a check with a name")
    if not isinstance(raw.get("ok"), bool):
        raise ResultsError(
            path, f"checks[{index}].ok", f"expected true or false, got {raw.get('ok')!r}"
        )
    violations = raw.get("violations", 0)
    if isinstance(violations, bool) or not isinstance(violations, int) or violations < 0:
        raise ResultsError(
            path, f"checks[{index}].violations", f"expected a count, got {violations!r}"
        )
    return {
        "name": raw["name"],
        "ok": raw["ok"],
        "violations": violations,
        "detail": str(raw.get("detail", "")),
    }


def _has(name: str, words: tuple[str, ...]) -> bool:
    lowered = name.lower()
    return any(w in lowered for w in words)
