"""The versions the test cluster is built from. Changing one rebuilds only what it names."""

from __future__ import annotations

# Go programs take their versions from their gomod/<name>/go.mod (gobuild.required_version):
# Kubernetes v1.34.4 with etcd v3.6.4 (the etcd its own go.mod requires), the add-ons' releases
# in gomod/<add-on>/go.mod.
#: The Debian release of the image base and of the packages baked into images.
DEBIAN_SUITE = "bookworm"
#: Chaos Mesh's CRDs only (manifests/crd.yaml of this module version): the driver's NetworkChaos
#: and StressChaos objects are validated and stored by the real API server; no Chaos Mesh
#: controller runs on the test cluster (this kernel has no sch_netem). Its tagged releases are
#: not served as Go modules (v2 tags without a /v2 path), so a commit of its default branch.
CHAOS_MESH_MODULE = "github.com/chaos-mesh/chaos-mesh@v0.9.1-0.20260902003049-47411975a8cb"
