"""The one shape of an input error: a file (or option) the user gave, the field in it,
and what is wrong with it.

Each package keeps its own hierarchy (``tradestorm.errors.InputError``,
``slo.errors.InputFileError``, ``reports.errors.ResultsFileError``,
``runfolder.errors.RunFolderError``, ``loadtests.errors.ConfigError``,
``tradestorm_chaos.errors.ExperimentInvalid``) and its input errors are also
``FieldError``: the CLI maps every one of them in one place (exit 2, the file and
the field named), and a caller that needs the three parts reads them alike.
"""

from __future__ import annotations

from pathlib import Path


class FieldError(Exception):
    """``source`` (a file, a folder or an option), ``field`` (a dotted path, ``(file)``,
    or the option's name) and ``problem`` (what is wrong, and what would be right)."""

    exit_code = 2

    def __init__(self, source: str | Path, field: str, problem: str) -> None:
        self.source = str(source)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.source}: field '{field}': {problem}")
