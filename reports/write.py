"""Writing a report file atomically: a reader never sees half a report."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from reports.errors import ReportWriteError


def write_atomic(path: Path, text: str) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ReportWriteError(path, f"cannot write the report: {exc.strerror or exc}") from exc
    return path
