"""The one error of the results folder: a file that cannot be read, naming it and the field."""

from __future__ import annotations

from inputs.errors import FieldError


class RunFolderError(FieldError):
    """``source`` (a file or folder), ``field`` (a dotted path or ``(file)``) and ``problem``."""
