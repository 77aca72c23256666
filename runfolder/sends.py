"""The load's ``sends.json``: its model, the route classes its users send to, and for an
arrival-rate (open-model) profile the sends its schedule made due, made and dropped
(docs/contracts.md §2). Read here for the gate and the report alike."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from runfolder.errors import RunFolderError
from runfolder.layout import SENDS_JSON


@dataclass(frozen=True)
class Sends:
    model: str  # "open" | "closed"
    profile: str
    scheduled: int | None
    sent: int | None
    dropped: int | None
    #: The route classes the load's users send to (an open model: orders only); None when
    #: the file does not say (a load older than the field): every class may have traffic.
    route_classes: tuple[str, ...] | None = None

    @property
    def open_model(self) -> bool:
        return self.model == "open"


def read_sends(results_dir: Path) -> Sends | None:
    """``results_dir/sends.json``; None when there is none; ``RunFolderError`` naming the
    field when it is malformed."""
    path = results_dir / SENDS_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(path, "(json)", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("model") not in ("open", "closed"):
        raise RunFolderError(path, "model", 'expected "open" or "closed"')

    def count(key: str) -> int | None:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise RunFolderError(path, key, f"expected a count, got {value!r}")
        return value

    classes = data.get("route_classes")
    if classes is not None and (
        not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes)
    ):
        raise RunFolderError(path, "route_classes",
                             f"expected a list of route class names, got {classes!r}")
    return Sends(model=data["model"], profile=str(data.get("profile") or ""),
                 scheduled=count("scheduled"), sent=count("sent"), dropped=count("dropped"),
                 route_classes=None if classes is None else tuple(classes))
