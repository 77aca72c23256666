"""A run's results folder (``docs/contracts.md`` §4), loaded once.

Each JSON file becomes a :class:`Fields` (typed reads that name file and field)
or ``None`` when the file is absent; absent files are listed in ``missing`` so
the report can say what it could not show. Invalid JSON is an error naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from reports.errors import ResultsFileError, ResultsNotFoundError
from reports.fields import Fields
from reports.locust_csv import LocustResults, read_locust
from runfolder import layout
from runfolder.errors import RunFolderError
from runfolder.record import load_document

JSON_FILES = {
    "slo": layout.SLO_JSON,
    "reconcile": layout.RECONCILE_JSON,
    "journal": layout.CHAOS_JOURNAL_JSON,
    "residue": layout.RESIDUE_JSON,
    "timeseries": layout.TIMESERIES_JSON,
}


@dataclass
class ResultsFolder:
    path: Path
    run: Fields | None = None
    slo: Fields | None = None
    reconcile: Fields | None = None
    journal: Fields | None = None
    residue: Fields | None = None
    timeseries: Fields | None = None
    locust: LocustResults | None = None
    missing: list[str] = field(default_factory=list)


def read_json(path: Path) -> Fields | None:
    """The JSON object in ``path``; ``None`` when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise ResultsFileError(path, "(file)", f"not UTF-8 text: {exc.reason}") from exc
    except OSError as exc:
        raise ResultsFileError(path, "(file)", f"cannot be read: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsFileError(
            path, "(json)", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    return Fields(data, path)


def read_run_json(results_dir: Path) -> Fields | None:
    """``run.json``, read and checked by :mod:`runfolder` (its owner); None when absent."""
    path = results_dir / layout.RUN_JSON
    if not path.exists():
        return None
    try:
        return Fields(load_document(path), path)
    except RunFolderError as exc:
        raise ResultsFileError(exc.source, exc.field, exc.problem) from exc


def folder_files(results_dir: Path, limit: int = 200) -> list[tuple[str, int]]:
    """The files of a results folder (relative path, bytes), for the report's appendix."""
    out: list[tuple[str, int]] = []
    for path in sorted(Path(results_dir).rglob("*")):
        if len(out) >= limit:
            break
        if path.is_file() and not path.name.startswith(".") and path.name not in (
                layout.REPORT_HTML, layout.INDEX_HTML):
            out.append((path.relative_to(results_dir).as_posix(), path.stat().st_size))
    return out


def load_results(results_dir: Path) -> ResultsFolder:
    """Read every results file the report uses. Raises when the folder holds none."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ResultsNotFoundError(results_dir, "no such results folder")
    folder = ResultsFolder(path=results_dir, run=read_run_json(results_dir))
    if folder.run is None:
        folder.missing.append(layout.RUN_JSON)
    for attr, name in JSON_FILES.items():
        loaded = read_json(results_dir / name)
        setattr(folder, attr, loaded)
        if loaded is None:
            folder.missing.append(name)
    folder.locust, missing_csv = read_locust(results_dir)
    folder.missing.extend(missing_csv)
    if folder.run is None and folder.slo is None and folder.timeseries is None \
            and folder.locust is None and folder.journal is None:
        raise ResultsNotFoundError(
            results_dir, "not a results folder (none of run.json, slo.json, timeseries.json, "
            "chaos-journal.json, locust_stats.csv)"
        )
    return folder
