"""A FAKE cluster for the Kubernetes target tests: ``FakeKubeApiServer`` (tests/fakes)
plus the two controllers the target waits for and the fake does not play.

* Jobs complete right after they are written (``Complete`` condition), or fail
  (``Failed``, ``BackoffLimitExceeded``) when their name is in ``failing_jobs``;
* DaemonSets report every (one) node scheduled and available.

Deployments and StatefulSets use the base fake's ``simulate_workloads``.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.kube_apiserver import FakeKubeApiServer, ResourceType

#: CRDs of the eks overlay and of the mesh component that the base fake does not serve
EXTRA_RESOURCES = (
    ResourceType("external-secrets.io", "v1", "externalsecrets", "ExternalSecret", True, (), ()),
    ResourceType("security.istio.io", "v1", "peerauthentications", "PeerAuthentication", True,
                 (), ()),
    ResourceType("security.istio.io", "v1", "authorizationpolicies", "AuthorizationPolicy",
                 True, (), ()),
)


class FakeCluster(FakeKubeApiServer):
    """FAKE API server with minimal Job and DaemonSet controllers (see the module docstring)."""

    def __init__(self, *, failing_jobs: tuple[str, ...] = (), controllers: bool = True,
                 crds: bool = True, **kwargs: Any) -> None:
        super().__init__(simulate_workloads=controllers, **kwargs)
        self.failing_jobs = set(failing_jobs)
        if crds:
            for rt in EXTRA_RESOURCES:
                self.register_resource(rt)
        if controllers:
            self.on_write(self._controllers)

    def _controllers(self, event: str, obj: dict[str, Any]) -> None:
        if event == "DELETED":
            return
        kind, meta = obj["kind"], obj["metadata"]
        status = obj.get("status") or {}
        if kind == "Job" and not status.get("conditions"):
            failed = meta["name"] in self.failing_jobs
            obj["status"] = {
                "succeeded": 0 if failed else 1,
                "failed": 1 if failed else 0,
                "conditions": [{"type": "Failed", "status": "True",
                                "reason": "BackoffLimitExceeded",
                                "message": "Job has reached the specified backoff limit"}]
                if failed else [{"type": "Complete", "status": "True"}],
            }
            self.put(obj)
        if kind == "DaemonSet" and "desiredNumberScheduled" not in status:
            obj["status"] = {"desiredNumberScheduled": 1, "updatedNumberScheduled": 1,
                             "numberAvailable": 1, "numberReady": 1,
                             "observedGeneration": meta.get("generation", 1)}
            self.put(obj)
