"""The load's send counts (``sends.json``, read by :mod:`runfolder.sends`) for the report."""

from __future__ import annotations

from pathlib import Path

from reports.errors import ResultsFileError
from runfolder.errors import RunFolderError
from runfolder.sends import Sends
from runfolder.sends import read_sends as read_folder_sends

__all__ = ["Sends", "read_sends"]


def read_sends(results_dir: Path) -> Sends | None:
    """``sends.json`` of ``results_dir`` (None when absent); a malformed one is a
    ``ResultsFileError`` naming the file and the field."""
    try:
        return read_folder_sends(results_dir)
    except RunFolderError as exc:
        raise ResultsFileError(exc.source, exc.field, exc.problem) from None
