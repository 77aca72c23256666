"""Data integrity as an objective: the run's ``reconcile.json`` (docs/contracts.md §4).

A missing reconcile.json, or one with no acknowledged order (nothing to
prove), is no data (never a pass); a malformed one is an input error naming
the file and the field.
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
    # reconcile's own counts when it gives them, else the checks named for them
    result.lost = _count(path, data, "lost", counted, _LOST_WORDS)
    result.duplicated = _count(path, data, "duplicated", counted, _DUPLICATE_WORDS)
    failed = [c["name"] for c in counted if not c["ok"]]
    nothing_to_prove = data.get("conclusive") is False or acknowledged == 0
    if ok and not failed and nothing_to_prove:
        result.detail = "no order was acknowledged: reconcile had nothing to prove"
    elif ok and not failed:
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


def _count(
    path: Path, data: dict[str, Any], key: str, checks: list[dict[str, Any]], words: tuple[str, ...]
) -> int:
    value = data.get(key)
    if value is None:
        return sum(c["violations"] for c in checks if _has(c["name"], words))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ResultsError(path, key, f"expected a count, got {value!r}")
    return value


def _has(name: str, words: tuple[str, ...]) -> bool:
    lowered = name.lower()
    return any(w in lowered for w in words)
