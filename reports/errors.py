"""The reports error hierarchy: one root, specific subclasses.

A missing results file is not an error (the report notes it); a results file
that exists but cannot be read, or holds a field of the wrong type, is.
"""

from __future__ import annotations

from pathlib import Path

from inputs.errors import FieldError


class ReportError(Exception):
    """Root of every error the report builder raises on purpose."""


class _ReportInputError(ReportError, FieldError):
    """An input error of the report (``inputs.errors.FieldError``): ``path`` is its source."""

    @property
    def path(self) -> str:
        return self.source


class ResultsNotFoundError(_ReportInputError):
    """The results folder (or results root) does not exist or holds no results."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(path, "RESULTS_DIR", problem)


class ResultsFileError(_ReportInputError):
    """A results file is malformed; names the file and the field."""


class ReportWriteError(_ReportInputError):
    """The report file could not be written."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(path, "output", problem)
