"""The Kubernetes driver (``KubernetesDriver``), one module per concept.

- ``api``: Kubernetes API access (kube context, allow-lists, dry-run, chaosk8s calls, reads);
- ``chaosmesh``: Chaos Mesh objects (NetworkChaos, StressChaos): latency, CPU stress, partition;
- ``outages``: scale-to-zero outages (a service's Deployment, the database's StatefulSet);
- ``drain``: node drain (cordon a node, evict the namespace's pods, uncordon);
- ``driver``: ``KubernetesDriver``, the ``Driver`` of the kubernetes target.
"""

from tradestorm_chaos.drivers.kubernetes.chaosmesh import CHAOS_MESH, CHAOS_MESH_PLURALS
from tradestorm_chaos.drivers.kubernetes.driver import KubernetesDriver

__all__ = ["CHAOS_MESH", "CHAOS_MESH_PLURALS", "KubernetesDriver"]
