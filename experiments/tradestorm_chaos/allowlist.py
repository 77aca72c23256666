"""Which kube contexts and namespaces chaos (and ``tradestorm up --target kubernetes``) may touch.

Nothing on a cluster is touched unless its context is allowed explicitly: by a
flag (``--allow-context``), by the caller (the runner's configuration), or by
``TRADESTORM_ALLOWED_CONTEXTS`` (comma-separated). An experiment file can never
allow its own context: a file is shared between clusters, the allow-list
belongs to whoever runs it. Namespaces follow the same rule
(``--allow-namespace``, ``TRADESTORM_ALLOWED_NAMESPACES``), and the cluster's
own namespaces are refused even when listed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from tradestorm_chaos.errors import ContextNotAllowed, NamespaceNotAllowed

CONTEXTS_ENV = "TRADESTORM_ALLOWED_CONTEXTS"
NAMESPACES_ENV = "TRADESTORM_ALLOWED_NAMESPACES"

#: namespaces that belong to the cluster: no experiment touches them, allow-listed or not,
#: and no target deploys into them (``tradestorm.kube.target`` shares this set)
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def _merge(explicit: Sequence[str], env_value: str | None) -> list[str]:
    merged: list[str] = []
    for item in [*explicit, *(env_value or "").split(",")]:
        item = item.strip()
        if item and item not in merged:
            merged.append(item)
    return merged


def allowed_contexts(
    explicit: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> list[str]:
    """The allowed kube contexts: ``explicit``, then ``$TRADESTORM_ALLOWED_CONTEXTS``."""
    env = os.environ if environ is None else environ
    return _merge(explicit, env.get(CONTEXTS_ENV))


def allowed_namespaces(
    explicit: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> list[str]:
    """The allowed namespaces: ``explicit`` then ``$TRADESTORM_ALLOWED_NAMESPACES``."""
    env = os.environ if environ is None else environ
    return _merge(explicit, env.get(NAMESPACES_ENV))


def check_context_allowed(context: str, allowed: Sequence[str]) -> None:
    """Raise ``ContextNotAllowed`` unless ``context`` is exactly one of ``allowed``.

    Matching is exact (no globbing, no case folding): ``prod`` does not allow
    ``prod-eu``. An empty or missing context is never allowed.
    """
    if not context or context not in allowed:
        raise ContextNotAllowed(context or "<none>", list(allowed))


def check_namespace_allowed(namespace: str, allowed: Sequence[str]) -> None:
    """Raise ``NamespaceNotAllowed`` unless ``namespace`` is allowed and not a system namespace."""
    if namespace in PROTECTED_NAMESPACES:
        raise NamespaceNotAllowed(
            namespace, list(allowed),
            reason=f"namespace '{namespace}' belongs to the cluster itself; chaos never touches it",
        )
    if not namespace or namespace not in allowed:
        raise NamespaceNotAllowed(namespace or "<none>", list(allowed))
