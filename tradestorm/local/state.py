"""The local target's state folder (docs/contracts.md §3).

``STATE`` is ``--state-dir``, else ``$TRADESTORM_STATE_DIR``, else
``./.tradestorm/local``. ``STATE/state.json`` is written by the supervisor as
each component starts (so a target that died half-way can still be taken
down) and read by everything that talks to a running target.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradestorm.errors import TargetError

SCHEMA = 1
ENV_STATE_DIR = "TRADESTORM_STATE_DIR"
DEFAULT_STATE_DIR = Path(".tradestorm") / "local"


def resolve_state_dir(state_dir: Path | str | None = None) -> Path:
    """The state folder: the argument, else ``$TRADESTORM_STATE_DIR``, else the default."""
    if state_dir is not None and str(state_dir) != "":
        return Path(state_dir).expanduser().absolute()
    env = os.environ.get(ENV_STATE_DIR)
    if env:
        return Path(env).expanduser().absolute()
    return DEFAULT_STATE_DIR.absolute()


@dataclass(frozen=True)
class StateLayout:
    """Where every file of a local target lives inside its state folder."""

    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "supervisor.lock"

    @property
    def accounts_file(self) -> Path:
        return self.root / "accounts.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def postgres_data(self) -> Path:
        return self.root / "postgres" / "data"

    @property
    def prometheus_dir(self) -> Path:
        return self.root / "prometheus"

    @property
    def prometheus_config(self) -> Path:
        return self.prometheus_dir / "prometheus.yml"

    @property
    def prometheus_data(self) -> Path:
        return self.prometheus_dir / "data"

    @property
    def prometheus_targets(self) -> Path:
        """file_sd folder: load generators drop ``*.json`` target files here."""
        return self.prometheus_dir / "targets"

    @property
    def proxy_config(self) -> Path:
        return self.root / "proxy" / "config.json"

    @property
    def proxy_ports(self) -> Path:
        return self.root / "proxy" / "ports.json"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON so that a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_state_file(state_dir: Path | str | None = None) -> dict[str, Any] | None:
    """``state.json`` as a dict, or None when there is none (never raises for absence)."""
    path = StateLayout(resolve_state_dir(state_dir)).state_file
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TargetError(f"{path}: not valid JSON ({exc}); run 'tradestorm down'") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise TargetError(f"{path}: unknown state schema; run 'tradestorm down'")
    return data


def load_state(state_dir: Path | None = None) -> dict[str, Any]:
    """The ``state.json`` of a running local target (contracts §3).

    Raises ``TargetError`` when nothing runs there (no state file, or its
    supervisor is gone and the target was never brought up completely).
    """
    root = resolve_state_dir(state_dir)
    data = read_state_file(root)
    if data is None:
        raise TargetError(f"no local target runs in {root} (no state.json); run 'tradestorm up'")
    from tradestorm.local.processes import ProcessRecord

    sup = data.get("supervisor") or {}
    record = ProcessRecord.from_state(sup)
    if record is None or not record.alive():
        raise TargetError(
            f"the local target in {root} is not running (its supervisor is gone); "
            "run 'tradestorm down' then 'tradestorm up'"
        )
    return data
