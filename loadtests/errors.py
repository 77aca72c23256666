"""The error hierarchy of ``loadtests``: one root, specific subclasses.

``ConfigError`` is a malformed input from the user (a file or an option) and
names the source and the field; the CLI maps it to ``tradestorm.errors.InputError``
(exit 2). ``ReconcileError`` means reconciliation could not be carried out (no
journal, database unreachable): an error, not a verdict.
"""

from __future__ import annotations

from inputs.errors import FieldError


class LoadtestsError(Exception):
    """Root of every error ``loadtests`` raises on purpose."""


class ConfigError(LoadtestsError, FieldError):
    """A file or option given by the user is malformed; names the source and the field."""


class LoadRunError(LoadtestsError):
    """The load generator could not be started or ended abnormally."""


class JournalError(LoadtestsError):
    """An order journal cannot be written or read."""


class ReconcileError(LoadtestsError):
    """Reconciliation could not be carried out (no journal, database unreachable, timeout)."""
