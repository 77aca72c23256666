"""The scenario's load, run in the cluster: one Locust master and N workers per run.

The component ``k8s/components/locust`` deploys two Deployments at zero replicas,
``locust-master`` and ``locust-worker``: they are the pod templates of the load
generator as the overlay sized them (image, registry, resources, security
context, the accounts Secret). A run instantiates them as two Jobs labelled
with its run id:

- the master Job runs ``python -m loadtests.control`` (docs/contracts.md §5):
  Locust headless with the scenario's profile, waiting for the workers, the
  order journals forwarded to it by the workers (so a restarted or replaced
  worker loses nothing it had acknowledged), and a small control API on port
  8090 (status, stop, the results as a tarball) reached through a port-forward;
- the worker Job runs N Locust workers against the gateway Service, so the
  traffic spreads over every gateway pod; their client metrics are scraped by
  the PodMonitor ``locust-worker`` of the component.

Both Jobs (:mod:`tradestorm.kube.loadjobs`) carry an ``activeDeadlineSeconds``
past the load's planned end, so a load whose CLI was killed stops by itself;
while the run lives it renews its Lease (:mod:`tradestorm.kube.loadleases`), so
the next run can tell a killed run's load from a live one. A worker restarted,
replaced or lost during the run is recorded as an event (``load_events``),
never a silent hole.
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tradestorm.kube.client import KubeConnection, Obj
from tradestorm.kube.discovery import ready_pod
from tradestorm.kube.errors import KubeError
from tradestorm.kube.loadjobs import (
    CONTROL_PORT,
    LINGER_S,
    RUN_LABEL,
    START_TIMEOUT_S,
    RunJobs,
    run_label,
    worker_count,
)
from tradestorm.kube.loadleases import RENEW_S, active_runs, lease
from tradestorm.kube.portforward import PortForward
from tradestorm.targets import LoadRequest

# a busy node: the master ends every journal, writes its CSVs; its wrapper kills a Locust
# still running 90 s (--stop-grace) after the stop, so it has exited well within this
STOP_TIMEOUT_S = 120.0

Say = Callable[[str], None]


class ClusterLoadError(KubeError):
    """The in-cluster load could not be started, stopped or collected."""


@dataclass
class LoadEvent:
    t: float
    kind: str  # worker-restarted | worker-replaced | worker-lost | worker-joined
    pod: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "kind": self.kind, "pod": self.pod, "detail": self.detail}


@dataclass
class _WorkerWatch:
    """Polls the worker pods; records restarts, replacements and losses."""

    conn: KubeConnection
    namespace: str
    selector: str
    expected: int
    events: list[LoadEvent] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def poll(self) -> None:
        try:
            pods = self.conn.list("v1", "Pod", self.namespace, label_selector=self.selector)
        except KubeError:
            return
        now = time.time()
        current: dict[str, int] = {}
        for pod in pods:
            name = pod["metadata"]["name"]
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
            current[name] = restarts
            before = self._seen.get(name)
            # a pod that joins once every worker has been seen replaces one (a worker that
            # joins late at the start is not an event)
            if before is None and len(self._seen) >= self.expected:
                self.events.append(LoadEvent(now, "worker-replaced", name,
                                             "a new worker pod joined the run"))
            elif before is not None and restarts > before:
                reason = ""
                for s in statuses:
                    last = (s.get("lastState") or {}).get("terminated") or {}
                    reason = last.get("reason") or reason
                self.events.append(LoadEvent(now, "worker-restarted", name,
                                             f"container restarted ({reason or 'unknown'})"))
        for name in self._seen:
            if name not in current:
                self.events.append(LoadEvent(now, "worker-lost", name, "the worker pod is gone"))
        self._seen = current

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(2.0):
                self.poll()

        self.poll()
        self._thread = threading.Thread(target=loop, name="load worker watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class ClusterLoad:
    """One run's Locust master and workers in the platform's namespace."""

    def __init__(self, conn: KubeConnection, *, context: str, namespace: str,
                 kubeconfig: Path | None, request: LoadRequest, results_dir: Path,
                 say: Say = print) -> None:
        self.conn = conn
        self.context = context
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        self.request = request
        self.results_dir = results_dir
        self.say = say
        self.run_label = run_label(request.run_id)
        self.name = f"tradestorm-load-{self.run_label}"[:52].rstrip("-")
        self.token = secrets.token_urlsafe(24)
        self.jobs = RunJobs(name=self.name, namespace=namespace, label=self.run_label,
                            request=request, token=self.token)
        self.workers = 0
        self.control: PortForward | None = None
        self.watch: _WorkerWatch | None = None
        self._status_cache: tuple[float, bool] = (0.0, True)
        self._objects: list[Obj] = []
        self._renewing = threading.Event()
        self.exit_code: int | None = None

    def _lease(self) -> Obj:
        return lease(self.name, self.namespace, self.run_label,
                     f"tradestorm run {self.request.run_id}")

    # -- naming ----------------------------------------------------------
    @property
    def worker_selector(self) -> str:
        return f"{RUN_LABEL}={self.run_label},app.kubernetes.io/name=locust-worker"

    @property
    def master_selector(self) -> str:
        return f"{RUN_LABEL}={self.run_label},app.kubernetes.io/name=locust-master"

    @property
    def metrics_selector(self) -> str:
        """PromQL label matchers of this run's client metrics."""
        return f'namespace="{self.namespace}",pod=~"{self.name}-worker-.*"'

    def _template(self, name: str) -> Obj:
        deployment = self.conn.get("apps/v1", "Deployment", name, self.namespace)
        if deployment is None:
            raise ClusterLoadError(f"Deployment {self.namespace}/{name} (the load generator's "
                                   "template, k8s/components/locust) is missing")
        return deployment

    def _renew_forever(self) -> None:
        while not self._renewing.wait(RENEW_S):
            try:
                self.conn.apply(self._lease())
            except KubeError:
                pass  # the API is briefly away: the lease has 45 s of slack

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        """Create the master, wait for its address, create the workers, forward the control."""
        other = active_runs(self.conn, self.namespace)
        if other:
            raise ClusterLoadError(
                f"another run's load is active in namespace '{self.namespace}' "
                f"({', '.join(other)}); wait for it or remove it with "
                "'tradestorm down --target kubernetes'")
        self.conn.apply(self._lease())
        self._objects.append(self._lease())
        threading.Thread(target=self._renew_forever, name="load lease", daemon=True).start()
        master_t = self._template("locust-master")
        worker_t = self._template("locust-worker")
        self.workers = worker_count(self.request, worker_t)
        deadline = int(self.request.duration_s + START_TIMEOUT_S + LINGER_S)
        master = self.jobs.master(master_t, workers=self.workers, deadline_s=deadline)
        self.conn.apply(master)
        self._objects.append(master)
        self.say(f"load: master Job {master['metadata']['name']} created")
        master_ip = self._wait_master_ip()
        worker = self.jobs.worker(worker_t, workers=self.workers, master_ip=master_ip,
                                  deadline_s=int(self.request.duration_s + START_TIMEOUT_S))
        self.conn.apply(worker)
        self._objects.append(worker)
        self.say(f"load: {self.workers} worker(s) in Job {worker['metadata']['name']}, "
                 "against Service gateway (every gateway pod)")
        self.control = PortForward(
            context=self.context, namespace=self.namespace, remote_port=CONTROL_PORT,
            find_pod=lambda: ready_pod(self.conn, self.namespace, self.master_selector),
            what="the load master", kubeconfig=self.kubeconfig).open(START_TIMEOUT_S)
        self.watch = _WorkerWatch(self.conn, self.namespace, self.worker_selector,
                                  self.workers)
        self.watch.start()

    def _wait_master_ip(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            for pod in self.conn.list("v1", "Pod", self.namespace,
                                      label_selector=self.master_selector):
                status = pod.get("status") or {}
                if status.get("phase") == "Failed":
                    raise ClusterLoadError(f"the load master pod {pod['metadata']['name']} "
                                           f"failed: {status.get('message') or status}")
                if status.get("podIP"):
                    return str(status["podIP"])
            time.sleep(1.0)
        raise ClusterLoadError(f"the load master of {self.name} got no pod IP within "
                               f"{START_TIMEOUT_S:.0f}s (see 'kubectl describe job')")

    def _control(self, method: str, path: str, timeout_s: float = 10.0) -> httpx.Response:
        assert self.control is not None
        return httpx.request(method, f"http://{self.control.address}{path}",
                             headers={"Authorization": f"Bearer {self.token}"},
                             timeout=timeout_s)

    def status(self) -> dict[str, Any]:
        response = self._control("GET", "/status")
        response.raise_for_status()
        return dict(response.json())

    @property
    def running(self) -> bool:
        """Whether Locust still runs (cached 2 s; a brief port-forward gap is not an exit)."""
        checked, value = self._status_cache
        if time.monotonic() - checked < 2.0:
            return value
        try:
            value = self.status().get("state") != "exited"
        except httpx.HTTPError:
            value = ready_pod(self.conn, self.namespace, self.master_selector) is not None \
                or self._master_pending()
        self._status_cache = (time.monotonic(), value)
        return value

    def _master_pending(self) -> bool:
        pods = self.conn.list("v1", "Pod", self.namespace, label_selector=self.master_selector)
        return any((p.get("status") or {}).get("phase") in ("Pending", "Running") for p in pods)

    def stop(self) -> int | None:
        """Stop Locust gracefully, copy its results into the results folder, remove the Jobs."""
        try:
            if self.control is not None:
                self._stop_and_collect()
        finally:
            if self.watch is not None:
                self.watch.stop()
                self.watch.poll()
            self._worker_logs()
            self.remove()
        return self.exit_code

    def _stop_and_collect(self) -> None:
        try:
            self._control("POST", "/stop")
        except httpx.HTTPError as exc:
            raise ClusterLoadError(f"cannot ask the load master to stop: {exc}") from exc
        deadline = time.monotonic() + STOP_TIMEOUT_S
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                state = self.status()
            except httpx.HTTPError:
                state = {}
            if state.get("state") == "exited":
                break
            time.sleep(0.5)
        else:
            raise ClusterLoadError(f"the load master did not stop within {STOP_TIMEOUT_S:.0f}s")
        self.exit_code = state.get("exit_code")
        response = self._control("GET", "/results.tar.gz", timeout_s=120.0)
        if response.status_code != 200:
            raise ClusterLoadError(f"the load master's results: HTTP {response.status_code}")
        with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
            tar.extractall(self.results_dir, filter="data")
        if state.get("killed"):
            raise ClusterLoadError(
                "the load master ignored the stop and was killed after its grace; its results "
                "were collected, but journal lines its workers were still forwarding may be "
                "missing (see logs/locust.log)")

    def _worker_logs(self) -> None:
        from kubernetes import client as k8s

        logs = self.results_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        core = k8s.CoreV1Api(self.conn.api_client)
        try:
            pods = self.conn.list("v1", "Pod", self.namespace,
                                  label_selector=f"{RUN_LABEL}={self.run_label}")
        except KubeError:
            return
        for pod in pods:
            name = pod["metadata"]["name"]
            try:
                text = core.read_namespaced_pod_log(name, self.namespace, _request_timeout=30)
            except Exception:  # noqa: BLE001 - a log is a convenience, the run goes on
                continue
            (logs / f"{name}.log").write_text(text or "", encoding="utf-8")

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in (self.watch.events if self.watch else [])]

    def remove(self) -> None:
        self._renewing.set()
        if self.control is not None:
            self.control.close()
        for obj in self._objects:
            try:
                self.conn.delete(obj)
            except KubeError as exc:
                self.say(f"load: could not delete {obj['metadata']['name']}: {exc}")
        (self.results_dir / "logs").mkdir(parents=True, exist_ok=True)
        (self.results_dir / "logs" / "load-events.json").write_text(
            json.dumps(self.events, indent=2), encoding="utf-8")
