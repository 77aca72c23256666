"""The one set of versions the test cluster is built from. Changing one rebuilds only what it names."""

from __future__ import annotations

#: k8s.io/kubernetes and its staging modules (pinned together in gomod/kubernetes/go.mod).
KUBERNETES = "v1.34.4"
#: etcd's server, at the version Kubernetes' own go.mod requires (gomod/kubernetes/go.mod).
ETCD = "v3.6.4"
#: The Debian release of the image base and of the packages baked into images.
DEBIAN_SUITE = "bookworm"
