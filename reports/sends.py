"""The load's send counts (``sends.json``): its model and, for an arrival-rate (open-model)
profile, the sends its schedule made due, made and dropped (docs/contracts.md §2)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from reports.errors import ResultsFileError
from runfolder.layout import SENDS_JSON


@dataclass(frozen=True)
class Sends:
    model: str  # "open" | "closed"
    profile: str
    scheduled: int | None
    sent: int | None
    dropped: int | None

    @property
    def open_model(self) -> bool:
        return self.model == "open"


def read_sends(results_dir: Path) -> Sends | None:
    path = results_dir / SENDS_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFileError(path, "(json)", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("model") not in ("open", "closed"):
        raise ResultsFileError(path, "model", 'expected "open" or "closed"')

    def count(key: str) -> int | None:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ResultsFileError(path, key, f"expected a count, got {value!r}")
        return value

    return Sends(model=data["model"], profile=str(data.get("profile") or ""),
                 scheduled=count("scheduled"), sent=count("sent"), dropped=count("dropped"))
