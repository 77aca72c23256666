"""The tradestorm_chaos error hierarchy.

One root (``ChaosError``) and specific subclasses, so callers (the ``tradestorm
chaos`` command, the scenario runner, the Kubernetes target) can catch exactly
what they handle. Lower layers' errors (httpx, kubernetes ``ApiException``,
chaoslib) are mapped to the most specific subclass at the driver boundary.
"""

from __future__ import annotations

from inputs.errors import FieldError


class ChaosError(Exception):
    """Root of every error tradestorm_chaos raises on purpose."""


class ExperimentInvalid(ChaosError, FieldError):
    """An experiment file is malformed; names the file and the field."""


class NotAllowed(ChaosError):
    """The safety rules refuse to touch a target."""


class ContextNotAllowed(NotAllowed):
    """A kube context is not on the allow-list (flag, env or caller configuration)."""

    def __init__(self, context: str, allowed: list[str]) -> None:
        self.context = context
        self.allowed = allowed
        shown = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"kube context '{context}' is not allowed (allowed: {shown}); allow it explicitly "
            "with --allow-context or TRADESTORM_ALLOWED_CONTEXTS"
        )


class NamespaceNotAllowed(NotAllowed):
    """A namespace is not on the allow-list, or is a system namespace."""

    def __init__(self, namespace: str, allowed: list[str], reason: str = "") -> None:
        self.namespace = namespace
        self.allowed = allowed
        shown = ", ".join(allowed) if allowed else "none"
        super().__init__(
            reason
            or f"namespace '{namespace}' is not allowed (allowed: {shown}); allow it explicitly "
            "with --allow-namespace or TRADESTORM_ALLOWED_NAMESPACES"
        )


class TargetUnavailable(ChaosError):
    """The target cannot be reached (local target not running, API server unreachable)."""


class UnsupportedOnTarget(ChaosError):
    """An action or experiment exists only on another target (e.g. CPU stress on local)."""


class DriverError(ChaosError):
    """A driver call to the target failed (control API answered an error, API server refused)."""


class FaultNotRemoved(DriverError):
    """A fault could not be removed or its removal could not be verified."""
