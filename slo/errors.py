"""The error hierarchy of the ``slo`` package.

One root (:class:`SLOError`), specific subclasses; lower layers' errors (YAML,
requests, prometheus-api-client) are mapped to the most specific one. Spec and
results-folder problems are *input* errors (the user's file is wrong: exit 2,
file and field named); Prometheus problems are *evaluation* errors (the gate
cannot judge: verdict ``error``, exit 2).
"""

from __future__ import annotations

from inputs.errors import FieldError


class SLOError(Exception):
    """Root of every error the ``slo`` package raises on purpose."""

    exit_code = 2


class InputFileError(SLOError, FieldError):
    """A file the user gave (spec, run.json, reconcile.json, ...) is malformed.

    ``source`` names the file (and, for multi-document YAML, the document),
    ``field`` the path inside it (``spec.objectives[2].op``).
    """


class SpecError(InputFileError):
    """An SLO spec file is malformed (bad YAML, unknown kind, bad field, broken reference)."""


class ResultsError(InputFileError):
    """A run's results folder cannot be read (missing or malformed run.json, bad window)."""
