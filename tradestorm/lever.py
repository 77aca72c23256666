"""The safety lever: one switch per target that stops every experiment on it.

Engaged (``tradestorm lever engage --reason ...``), it stops a running run the
way a tripped guardrail does (the run polls it) and refuses new ones
(``tradestorm run``, ``tradestorm chaos run``) until released. It records who
engaged it, when and why. Local target: ``STATE/lever.json``; Kubernetes: the
ConfigMap ``tradestorm-lever`` in the harness's namespace
(``tradestorm.kube.lever``).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

LEVER_FILE = "lever.json"


@dataclass(frozen=True)
class LeverState:
    engaged: bool
    by: str = ""
    at: float | None = None
    reason: str = ""
    where: str = ""  # the file or the ConfigMap

    def describe(self) -> str:
        if not self.engaged:
            return f"the safety lever is released ({self.where})"
        when = (dt.datetime.fromtimestamp(self.at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
                if self.at else "at an unknown time")
        return (f"the safety lever is ENGAGED ({self.where}) by {self.by or 'someone'} "
                f"at {when}: {self.reason or '(no reason given)'}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Lever(Protocol):
    def read(self) -> LeverState: ...

    def engage(self, by: str, reason: str) -> LeverState: ...

    def release(self, by: str) -> LeverState: ...


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


class FileLever:
    """The local target's lever: a JSON file in its state folder (written atomically)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LEVER_FILE

    def read(self) -> LeverState:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return LeverState(False, where=str(self.path))
        except (OSError, ValueError) as exc:
            # unreadable is engaged: a safety switch fails closed
            return LeverState(True, reason=f"the lever file cannot be read: {exc}",
                              where=str(self.path))
        return LeverState(bool(data.get("engaged")), str(data.get("by") or ""),
                          data.get("at"), str(data.get("reason") or ""), str(self.path))

    def _write(self, state: LeverState) -> LeverState:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
        return state

    def engage(self, by: str, reason: str) -> LeverState:
        return self._write(LeverState(True, by, time.time(), reason, str(self.path)))

    def release(self, by: str) -> LeverState:
        return self._write(LeverState(False, by, time.time(), "released", str(self.path)))


def local_lever(state_dir: Path | None) -> FileLever:
    from tradestorm.local.state import resolve_state_dir

    return FileLever(resolve_state_dir(state_dir))


def refuse_if_engaged(lever: Lever) -> None:
    """Raise ``LeverEngaged`` (exit 2, naming who, when and why) when the lever is engaged."""
    from tradestorm.errors import LeverEngaged

    state = lever.read()
    if state.engaged:
        raise LeverEngaged(state.describe())
