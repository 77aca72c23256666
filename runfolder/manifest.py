"""``manifest.json``: the seal of a results folder.

It holds the SHA-256 of every file in the folder (but the HTML built from them,
which ``tradestorm report`` rebuilds, and the manifest itself), which files are
the inputs as run (the SLO spec as judged, the experiment, the scenario), and
the harness that made it (its git commit when run from a checkout, and its
version). ``tradestorm verify`` checks it and names every file that changed,
went missing or appeared since.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from runfolder.errors import RunFolderError
from runfolder.layout import (
    EVIDENCE_DIR,
    EXPERIMENT_JSON,
    INDEX_HTML,
    MANIFEST_JSON,
    REPORT_HTML,
    SCENARIO_YAML,
)
from runfolder.record import write_json

SCHEMA = 1
UNSEALED = (REPORT_HTML, INDEX_HTML, MANIFEST_JSON)  # derived, or the seal itself
INPUTS = {"spec": f"{EVIDENCE_DIR}/spec.yaml", "experiment": EXPERIMENT_JSON,
          "scenario": SCENARIO_YAML}


@dataclass
class ManifestCheck:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    sealed: dict[str, Any] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return not (self.changed or self.missing or self.added)


def sealed_files(results_dir: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file the seal covers."""
    out: dict[str, str] = {}
    for path in sorted(results_dir.rglob("*")):
        relative = path.relative_to(results_dir).as_posix()
        if not path.is_file() or relative in UNSEALED or path.name.startswith("."):
            continue
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        out[relative] = digest.hexdigest()
    return out


def harness() -> dict[str, Any]:
    """The harness that seals: its version, and its git commit when it runs from a checkout."""
    try:
        version = metadata.version("tradestorm")
    except metadata.PackageNotFoundError:
        version = None
    source = Path(__file__).resolve().parents[1]
    commit = dirty = None
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10,
                                check=True).stdout.strip() or None
        status = subprocess.run(["git", "-C", str(source), "status", "--porcelain",
                                 "--untracked-files=no"], capture_output=True, text=True,
                                timeout=10, check=True).stdout
        dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass  # an installed harness, not a checkout
    return {"version": version, "git_commit": commit, "uncommitted_changes": dirty}


def seal(results_dir: Path) -> Path:
    """Write ``manifest.json`` for ``results_dir`` as it is now."""
    files = sealed_files(results_dir)
    return write_json(results_dir / MANIFEST_JSON, {
        "schema": SCHEMA,
        "sealed_at": round(time.time(), 3),
        "harness": harness(),
        "inputs": {name: path for name, path in INPUTS.items() if path in files},
        "files": files,
    })


def check(results_dir: Path) -> ManifestCheck:
    """Compare ``results_dir`` with its seal; raises when there is no readable manifest."""
    path = results_dir / MANIFEST_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(path, "(file)", "no manifest.json: this folder was never sealed "
                             "(a run before evidence packs, or a folder made by hand)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(path, "(json)", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RunFolderError(path, "(file)", "expected a JSON object")
    if data.get("schema") != SCHEMA:
        raise RunFolderError(path, "schema", f"expected {SCHEMA}, got {data.get('schema')!r}")
    recorded = data.get("files")
    if not isinstance(recorded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in recorded.items()):
        raise RunFolderError(path, "files", "expected an object of path -> sha256")
    now = sealed_files(results_dir)
    return ManifestCheck(
        changed=sorted(p for p in recorded if p in now and now[p] != recorded[p]),
        missing=sorted(p for p in recorded if p not in now),
        added=sorted(p for p in now if p not in recorded),
        sealed=data,
    )
