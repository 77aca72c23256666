"""The reports error hierarchy: one root, specific subclasses.

A missing results file is not an error (the report notes it); a results file
that exists but cannot be read, or holds a field of the wrong type, is.
"""

from __future__ import annotations

from pathlib import Path


class ReportError(Exception):
    """Root of every error the report builder raises on purpose."""


class ResultsNotFoundError(ReportError):
    """The results folder (or results root) does not exist or holds no results."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ResultsFileError(ReportError):
    """A results file is malformed; names the file and the field."""

    def __init__(self, path: str | Path, field: str, problem: str) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.path}: field '{field}': {problem}")


class ReportWriteError(ReportError):
    """The report file could not be written."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
