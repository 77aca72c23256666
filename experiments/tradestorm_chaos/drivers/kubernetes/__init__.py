"""The Kubernetes driver (``KubernetesDriver``), one module per concept.

- ``driver``: ``KubernetesDriver``, the ``Driver`` of the kubernetes target.
"""

from tradestorm_chaos.drivers.kubernetes.driver import (
    CHAOS_MESH,
    CHAOS_MESH_PLURALS,
    KubernetesDriver,
)

__all__ = ["CHAOS_MESH", "CHAOS_MESH_PLURALS", "KubernetesDriver"]
