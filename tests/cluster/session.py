"""What the tests hold of the real cluster: the cluster itself and the platform deployed on it
by the product (``KubernetesTarget`` with the ``local`` overlay).

Besides reading the cluster (``get``, ``items``, Prometheus), the handles give the tests what
they need to observe real effects and to leave the platform as they found it:

* ``ClusterHandle.write_kubeconfig``: a copy of the admin kubeconfig with more contexts naming
  the same cluster (a context the allow-list does not know, pointing at a live API server), or
  a server address where nothing listens;
* ``ClusterHandle.watch``: the API server's own watch of a collection, recorded while a test
  runs something (what was created, changed, deleted, in order);
* ``PlatformHandle.fingerprint``: what any change of the platform would alter (uids,
  generations, resourceVersions of objects without a status), to assert "nothing changed";
* ``PlatformHandle.wait_healthy`` / ``health_problems``: every workload back at its replicas
  and ready, no pod pending or terminating, every Job complete, the node schedulable, no chaos
  object left; ``PlatformHandle.node_cordoned``: the one node cordoned for a block, then
  uncordoned and the platform waited for.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.cluster import kubectl, storage
from tests.cluster.layout import ADMIN_KUBECONFIG, CONTEXT, NODE_NAME

NAMESPACE = "tradestorm"
SERVICE_LABEL = "app.kubernetes.io/name"
#: the kinds a "nothing changed" fingerprint covers (namespaced, in the platform's namespace)
FINGERPRINT_KINDS = (
    "pods", "deployments", "statefulsets", "replicasets", "jobs", "cronjobs", "services",
    "configmaps", "secrets", "serviceaccounts", "roles", "rolebindings", "networkpolicies",
    "poddisruptionbudgets", "horizontalpodautoscalers", "persistentvolumeclaims",
    "servicemonitors.monitoring.coreos.com", "podmonitors.monitoring.coreos.com",
    "prometheusrules.monitoring.coreos.com", "networkchaos.chaos-mesh.org",
    "stresschaos.chaos-mesh.org", "podchaos.chaos-mesh.org",
)
#: kinds whose status is written all the time: their spec is compared through the generation
_GENERATION_KINDS = frozenset({
    "Deployment", "StatefulSet", "ReplicaSet", "Job", "CronJob", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "NetworkPolicy", "PersistentVolumeClaim",
})


class Watch:
    """The API server's watch of one collection (``path`` like ``/api/v1/namespaces/x/pods``),
    from the resourceVersion of a list made when the watch starts: every event after that
    instant is recorded, even if the stream connects a moment later."""

    def __init__(self, path: str, query: dict[str, str] | None = None) -> None:
        self.path = path
        self.query = dict(query or {})
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._initial: dict[str, str] = {}  # uid -> resourceVersion at the start

    def _url(self, **extra: str) -> str:
        return f"{self.path}?{urllib.parse.urlencode({**self.query, **extra})}"

    def _list(self) -> dict[str, Any]:
        return json.loads(kubectl.run("get", "--raw", self._url()).stdout)

    def start(self) -> Watch:
        listed = self._list()
        self._initial = {i["metadata"]["uid"]: i["metadata"]["resourceVersion"]
                         for i in listed["items"]}
        version = listed["metadata"]["resourceVersion"]
        # no --request-timeout: the stream lasts until stop() ends the process
        self._proc = subprocess.Popen(
            [kubectl._binary(), f"--kubeconfig={ADMIN_KUBECONFIG}", "get", "--raw",
             self._url(watch="1", resourceVersion=version, timeoutSeconds="1800")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            line = line.strip()
            if line:
                with self._lock:
                    self.events.append(json.loads(line))

    def behind(self) -> str | None:
        """None once the watch has delivered everything a fresh list shows happened: the
        current version of every object that changed, and the deletion of every object seen
        (or there at the start) that is gone; else what it still lacks."""
        now = self._list()["items"]
        with self._lock:
            events = list(self.events)
        versions = {e["object"]["metadata"]["resourceVersion"] for e in events}
        seen = {e["object"]["metadata"]["uid"] for e in events}
        deleted = {e["object"]["metadata"]["uid"] for e in events if e["type"] == "DELETED"}
        present = {i["metadata"]["uid"] for i in now}
        lacking = [i["metadata"]["name"] for i in now
                   if i["metadata"]["resourceVersion"] != self._initial.get(i["metadata"]["uid"])
                   and i["metadata"]["resourceVersion"] not in versions]
        gone = (set(self._initial) | seen) - present - deleted
        if lacking or gone:
            return f"{self.path}: no event yet for {lacking} (changed), {len(gone)} deletion(s)"
        return None

    def stop(self, *, catch_up: bool = True, timeout_s: float = 15) -> None:
        """End the watch, once it has caught up with the collection (see ``behind``)."""
        try:
            if catch_up:
                kubectl.wait_until(f"the watch of {self.path} caught up", self.behind,
                                   timeout_s=timeout_s, piece="test", interval_s=0.2)
        finally:
            if self._proc is not None:
                self._proc.terminate()
                self._proc.wait(timeout=10)
            if self._reader is not None:
                self._reader.join(timeout=10)

    def of(self, event_type: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """The objects of the recorded events (of one type, of one name), in order."""
        with self._lock:
            events = list(self.events)
        return [e["object"] for e in events
                if (event_type is None or e["type"] == event_type)
                and (name is None or e["object"]["metadata"]["name"] == name)]

    def types(self, name: str | None = None) -> list[str]:
        with self._lock:
            return [e["type"] for e in self.events
                    if name is None or e["object"]["metadata"]["name"] == name]


class ClusterHandle:
    """The running test cluster (tests/cluster), as the tests see it."""

    context = CONTEXT
    kubeconfig: Path = ADMIN_KUBECONFIG
    node = NODE_NAME

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> str:
        return kubectl.run(*args, check=check, input=input, timeout=120).stdout

    def get(self, *args: str) -> dict[str, Any]:
        return kubectl.get_json(*args)

    def items(self, *args: str) -> list[dict[str, Any]]:
        return list(kubectl.get_json(*args).get("items", []))  # type: ignore[arg-type]

    def exists(self, *args: str) -> bool:
        return kubectl.run("get", *args, "-o", "name", check=False).returncode == 0

    def wait_until(
        self, what: str, check: Any, timeout_s: float = 120, interval_s: float = 1
    ) -> None:
        """Poll ``check`` (None when satisfied, else why not); raises ClusterError naming why."""
        kubectl.wait_until(what, check, timeout_s=timeout_s, piece="test", interval_s=interval_s)

    def watch(self, path: str, **query: str) -> contextlib.AbstractContextManager[Watch]:
        """``with cluster.watch("/api/v1/namespaces/tradestorm/pods") as w: ...``"""

        @contextlib.contextmanager
        def watching() -> Iterator[Watch]:
            watch = Watch(path, query).start()
            try:
                yield watch
            except BaseException:
                watch.stop(catch_up=False)  # the test failed already: no wait
                raise
            watch.stop()

        return watching()

    def write_kubeconfig(self, path: Path, *, aliases: tuple[str, ...] = (),
                         current: str = CONTEXT, server: str | None = None) -> Path:
        """A copy of the admin kubeconfig: its context, plus one context per alias naming the
        same cluster and user (a live API server under a name nobody allowed), ``current`` as
        the current context; with ``server``, every context points there instead."""
        config = yaml.safe_load(self.kubeconfig.read_text())
        original = next(c for c in config["contexts"] if c["name"] == CONTEXT)
        config["contexts"] += [{"name": alias, "context": dict(original["context"])}
                               for alias in aliases]
        config["current-context"] = current
        if server is not None:
            for cluster in config["clusters"]:
                cluster["cluster"]["server"] = server
        path.write_text(yaml.safe_dump(config))
        os.chmod(path, 0o600)
        return path

    def prometheus_url(self) -> str:
        """The in-cluster Prometheus, reached from this machine through its Service address."""
        from tests.cluster.addons import PROMETHEUS_NAMESPACE, PROMETHEUS_PORT, PROMETHEUS_SERVICE

        service = kubectl.get_json("service", PROMETHEUS_SERVICE, "-n", PROMETHEUS_NAMESPACE)
        return f"http://{service['spec']['clusterIP']}:{PROMETHEUS_PORT}"  # type: ignore[index]

    def prometheus_query(self, query: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus_url()}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        with _opener().open(url, timeout=10) as answer:
            return list(json.load(answer)["data"]["result"])

    def prometheus_targets(self) -> list[dict[str, Any]]:
        with _opener().open(f"{self.prometheus_url()}/api/v1/targets", timeout=10) as answer:
            return list(json.load(answer)["data"]["activeTargets"])


def _template(obj: dict[str, Any]) -> bool:
    """A Deployment deployed at zero replicas on purpose: a pod template a run instantiates."""
    return obj["metadata"].get("name") in ("locust-master", "locust-worker")


def _opener() -> urllib.request.OpenerDirector:
    # the address is the cluster's: never through a proxy of the environment
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PlatformHandle:
    """The platform on the real cluster, deployed by ``KubernetesTarget.up`` (overlay local)."""

    def __init__(self, cluster: ClusterHandle) -> None:
        self.cluster = cluster
        self.output = io.StringIO()
        self.up_seconds: float | None = None
        #: what the session's deploying ``up`` printed (the lines of later calls not mixed in)
        self.up_output = ""

    def target(self, **kwargs: Any) -> Any:
        from tradestorm.kube.target import KubernetesTarget

        options: dict[str, Any] = {"overlay": "local", "kubeconfig": self.cluster.kubeconfig,
                                   "allowed_contexts": [CONTEXT], "out": self.output,
                                   "poll_interval_s": 1.0}
        options.update(kwargs)
        return KubernetesTarget(context=options.pop("context", CONTEXT), **options)

    def up(self) -> None:
        started = time.monotonic()
        out = io.StringIO()
        self.target(out=out).up(timeout_s=900)
        self.up_seconds = time.monotonic() - started
        self.up_output = out.getvalue()
        self.output.write(self.up_output)

    def deployed(self) -> bool:
        return kubectl.run("get", "namespace", NAMESPACE, check=False).returncode == 0

    def down(self) -> None:
        if self.deployed():
            self.target().down(timeout_s=300)
        storage.recycle_released()

    def chaos_configuration(self, **extra: Any) -> dict[str, Any]:
        """The Chaos Toolkit configuration a run on this cluster gets."""
        return {"kubernetes_kubeconfig": str(self.cluster.kubeconfig),
                "kubernetes_context": CONTEXT, "kubernetes_namespace": NAMESPACE, **extra}

    # ------------------------------------------------------------------ reading

    def pods(self, service: str | None = None) -> list[dict[str, Any]]:
        """The namespace's pods (of one service), sorted by name."""
        selector = ("-l", f"{SERVICE_LABEL}={service}") if service else ()
        pods = self.cluster.items("pods", "-n", NAMESPACE, *selector)
        return sorted(pods, key=lambda p: p["metadata"]["name"])

    def fingerprint(self, namespace: str = NAMESPACE) -> dict[str, str]:
        """What any change would alter: per object its uid and its generation (kinds with a
        busy status) or resourceVersion; pods by uid and deletion; the node's schedulability."""
        listed = self.cluster.items(",".join(FINGERPRINT_KINDS), "-n", namespace)
        prints: dict[str, str] = {}
        for obj in listed:
            meta = obj["metadata"]
            if obj["kind"] == "Pod":
                version = meta.get("deletionTimestamp") or "live"
            elif obj["kind"] in _GENERATION_KINDS:
                version = f"gen {meta.get('generation')}"
            else:
                version = f"rv {meta['resourceVersion']}"
            prints[f"{obj['kind']}/{meta['name']}"] = f"{meta['uid']} {version}"
        node = self.cluster.get("node", NODE_NAME)
        spec = node["spec"]
        prints[f"Node/{NODE_NAME}"] = json.dumps(
            {"unschedulable": spec.get("unschedulable"), "taints": spec.get("taints")})
        return prints

    def health_problems(self) -> str | None:
        """None when the platform is as deployed and settled; else what is not."""
        node = self.cluster.get("node", NODE_NAME)
        if node["spec"].get("unschedulable"):
            return f"node {NODE_NAME} is cordoned"
        listed = self.cluster.items(
            "deployments,statefulsets,jobs,pods,networkchaos.chaos-mesh.org,"
            "stresschaos.chaos-mesh.org", "-n", NAMESPACE)
        problems = []
        for obj in listed:
            kind, name = obj["kind"], obj["metadata"]["name"]
            spec, status = obj.get("spec") or {}, obj.get("status") or {}
            if kind in ("Deployment", "StatefulSet"):
                want = spec.get("replicas", 1)
                observed = (status.get("observedGeneration") or 0) >= obj["metadata"]["generation"]
                counts = [status.get(k) or 0 for k in ("readyReplicas", "updatedReplicas",
                                                       "availableReplicas", "replicas")]
                if kind == "StatefulSet":
                    counts[2] = counts[0]  # availability: ready is what counts
                # the load generator's templates stay at 0 (a run makes its own Jobs)
                if not observed or counts != [want] * 4 or (want < 1 and not _template(obj)):
                    problems.append(f"{kind} {name}: want {want}, ready/updated/available/total "
                                    f"{counts}{'' if observed else ', not observed yet'}")
            elif kind == "Job":
                if not any(c.get("type") == "Complete" and c.get("status") == "True"
                           for c in status.get("conditions") or []):
                    problems.append(f"Job {name} not complete")
            elif kind == "Pod":
                phase = status.get("phase")
                if obj["metadata"].get("deletionTimestamp"):
                    problems.append(f"pod {name} terminating")
                elif phase not in ("Running", "Succeeded"):
                    problems.append(f"pod {name} {phase}")
            else:
                problems.append(f"{kind} {name} left")
        return "; ".join(problems) or None

    def wait_healthy(self, timeout_s: float = 300) -> None:
        self.cluster.wait_until("the platform healthy and settled", self.health_problems,
                                timeout_s=timeout_s, interval_s=2)

    @contextlib.contextmanager
    def node_cordoned(self) -> Iterator[None]:
        """The one node cordoned (new pods stay Pending) for the block; then uncordoned and
        the platform waited for."""
        self.cluster.kubectl("cordon", NODE_NAME)
        try:
            yield
        finally:
            self.cluster.kubectl("uncordon", NODE_NAME)
            self.wait_healthy()
