"""The one error of the results folder: a file that cannot be read, naming it and the field."""

from __future__ import annotations

from pathlib import Path


class RunFolderError(Exception):
    """``source`` (a file or folder), ``field`` (a dotted path or ``(file)``) and ``problem``."""

    def __init__(self, source: Path | str, field: str, problem: str) -> None:
        self.source = str(source)
        self.field = field
        self.problem = problem
        super().__init__(f"{source}: {field}: {problem}")
