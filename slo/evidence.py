"""The evidence pack: what a verdict was judged on, saved beside it.

``evidence/`` in a run's results folder (docs/contracts.md §4):

- ``samples.json``: every query the gate asked, with the samples Prometheus
  returned (labels, times, values, the times of "no traffic" samples) or the
  error it gave; non-finite values are the strings ``+Inf``/``-Inf``;
- ``spec.yaml``: the SLO spec file as judged (a copy);
- ``previous.json``: the earlier run the relative criteria compared with (its
  folder and slo.json), or ``{"folder": null}`` when there was none.

With these and the folder's run.json and reconcile.json, :mod:`slo.verify`
judges the run again without Prometheus and must reach the same verdict.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promclient.errors import PrometheusError
from promclient.series import Series
from runfolder.layout import EVIDENCE_DIR
from runfolder.record import write_json
from slo.comparison import Previous
from slo.errors import ResultsError
from slo.objectives import Fetched

SCHEMA = 1
SAMPLES_JSON = "samples.json"
SPEC_YAML = "spec.yaml"
PREVIOUS_JSON = "previous.json"


@dataclass(frozen=True)
class Evidence:
    spec_path: Path
    step_s: float
    fetched: Fetched
    error: str | None
    previous: Previous | None  # None: the spec has no relative criteria


def save_evidence(evidence: Evidence, results_dir: Path) -> Path:
    """Write ``evidence/`` into ``results_dir``; returns the folder."""
    folder = results_dir / EVIDENCE_DIR
    folder.mkdir(exist_ok=True)
    queries: dict[str, Any] = {}
    for query, outcome in evidence.fetched.items():
        if isinstance(outcome, PrometheusError):
            queries[query] = {"error": str(outcome)}
        else:
            queries[query] = [_series_out(s) for s in outcome]
    write_json(folder / SAMPLES_JSON, {"schema": SCHEMA, "step_seconds": evidence.step_s,
                                       "error": evidence.error, "queries": queries})
    if evidence.spec_path.resolve() != (folder / SPEC_YAML).resolve():
        shutil.copyfile(evidence.spec_path, folder / SPEC_YAML)
    previous = evidence.previous
    write_json(folder / PREVIOUS_JSON, {
        "schema": SCHEMA,
        "compared": previous is not None,
        "folder": previous.folder if previous else None,
        "slo": previous.slo if previous else None,
    })
    return folder


def load_evidence(results_dir: Path) -> tuple[Path, Fetched, str | None, Previous | None]:
    """The saved spec file, samples, evaluation error and earlier run of ``results_dir``."""
    folder = results_dir / EVIDENCE_DIR
    spec = folder / SPEC_YAML
    if not spec.is_file():
        raise ResultsError(spec, "(file)", "missing from the evidence pack")
    samples = _read(folder / SAMPLES_JSON)
    raw = samples.get("queries")
    if not isinstance(raw, dict):
        raise ResultsError(folder / SAMPLES_JSON, "queries", "expected an object")
    fetched: Fetched = {}
    for query, outcome in raw.items():
        where = f"queries[{query!r}]"
        if isinstance(outcome, dict) and isinstance(outcome.get("error"), str):
            fetched[query] = PrometheusError(outcome["error"])
        elif isinstance(outcome, list):
            fetched[query] = [_series_in(s, folder / SAMPLES_JSON, f"{where}[{i}]")
                              for i, s in enumerate(outcome)]
        else:
            raise ResultsError(folder / SAMPLES_JSON, where, "expected a list of series or "
                               "an error")
    error = samples.get("error")
    previous_doc = _read(folder / PREVIOUS_JSON)
    previous = None
    if previous_doc.get("compared"):
        slo = previous_doc.get("slo")
        previous = Previous(previous_doc.get("folder"), slo if isinstance(slo, dict) else None)
    return spec, fetched, error if isinstance(error, str) else None, previous


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(path, "(file)", "missing from the evidence pack") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(path, "(file)", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ResultsError(path, "schema", f"expected an object with schema {SCHEMA}")
    return data


def _number_out(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "+Inf" if value > 0 else "-Inf"


def _number_in(value: Any, path: Path, where: str) -> float:
    if value in ("+Inf", "-Inf"):
        return math.inf if value == "+Inf" else -math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResultsError(path, where, f"expected a number, got {value!r}")
    return float(value)


def _series_out(series: Series) -> dict[str, Any]:
    return {"labels": series.labels, "times": series.times,
            "values": [_number_out(v) for v in series.values],
            "no_traffic": series.no_traffic}


def _series_in(raw: Any, path: Path, where: str) -> Series:
    if not isinstance(raw, dict) or not isinstance(raw.get("labels"), dict):
        raise ResultsError(path, f"{where}.labels", "expected an object")
    times = [_number_in(t, path, f"{where}.times") for t in raw.get("times") or []]
    values = [_number_in(v, path, f"{where}.values") for v in raw.get("values") or []]
    if len(times) != len(values):
        raise ResultsError(path, where, "times and values differ in length")
    no_traffic = [_number_in(t, path, f"{where}.no_traffic") for t in raw.get("no_traffic") or []]
    return Series(dict(raw["labels"]), times, values, no_traffic)
