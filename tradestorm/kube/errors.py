"""Errors of the Kubernetes target: one root, specific subclasses.

``KubeError`` derives from ``tradestorm.errors.TargetError`` so the CLI prints
the message and exits 2 like for every other target problem. Lower layers'
errors (``kubernetes`` ``ApiException``, ``ConfigException``, urllib3
connection errors, ``kubectl`` failures) are mapped to the most specific
subclass at the boundary where they happen.
"""

from __future__ import annotations

from collections.abc import Sequence

from tradestorm.errors import TargetError


class KubeError(TargetError):
    """Root of every error the Kubernetes target raises on purpose."""


class ContextNotAllowed(KubeError):
    """The kube context is not on the allow-list (--allow-context, TRADESTORM_ALLOWED_CONTEXTS)."""

    def __init__(self, context: str, allowed: Sequence[str]) -> None:
        self.context = context
        self.allowed = list(allowed)
        shown = ", ".join(self.allowed) if self.allowed else "none"
        super().__init__(
            f"kube context '{context}' is not allowed (allowed: {shown}); allow it explicitly "
            "with --allow-context or TRADESTORM_ALLOWED_CONTEXTS"
        )


class NamespaceNotAllowed(KubeError):
    """A namespace the target must never manage (the cluster's own, or ``default``)."""


class KubeconfigError(KubeError):
    """The kubeconfig is missing, unreadable, or has no such context."""


class OverlayNotFound(KubeError):
    """The overlay is neither a folder nor the name of one under k8s/overlays."""


class RenderError(KubeError):
    """``kubectl kustomize`` failed, is missing, or rendered something unusable."""


class ApiUnavailable(KubeError):
    """The API server of the context cannot be reached."""


class ApplyError(KubeError):
    """The API server refused an object, or does not serve its kind."""


class DeleteError(KubeError):
    """An object could not be deleted, or did not disappear in time."""


class RolloutFailed(KubeError):
    """A rollout cannot succeed any more (a Job failed, a Deployment exceeded its deadline)."""


class RolloutTimeout(KubeError):
    """The rollout was not complete within the timeout; names what is not ready."""
