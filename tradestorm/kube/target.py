"""``KubernetesTarget``: the reference platform on a Kubernetes cluster.

``up`` renders a kustomize overlay offline (``kubectl kustomize``), applies it
object by object with server-side apply (see ``tradestorm.kube.client`` for
why), and waits for the rollout: every Deployment, StatefulSet and DaemonSet
available, every Job complete. ``down`` deletes what the overlay renders
(namespaces last, which takes everything inside with them), except the harness's
namespace while the safety lever in it is engaged: an engaged lever outlives ``down``.
``status`` reads Deployments, HPAs, the PostgreSQL StatefulSet and the Jobs back.

Safety: every call is refused unless ``context`` is on the allow-list shared
with the chaos driver (``tradestorm_chaos.allowlist``: the ``allowed_contexts``
given here plus ``$TRADESTORM_ALLOWED_CONTEXTS``); the cluster's own
namespaces and ``default`` are never managed. ``dry_run=True`` prints every
object it would apply or delete and does not connect to the cluster at all.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from tradestorm_chaos.allowlist import PROTECTED_NAMESPACES

from tradestorm.kube.client import KubeConnection, describe
from tradestorm.kube.errors import (
    ApplyError,
    ContextNotAllowed,
    DeleteError,
    KubeError,
    NamespaceNotAllowed,
    RenderError,
    RolloutFailed,
    RolloutTimeout,
)
from tradestorm.kube.lever import ConfigMapLever
from tradestorm.kube.render import (
    install_order,
    render_overlay,
    resolve_overlay,
    with_registry,
)
from tradestorm.kube.rollout import WAITED_KINDS, failure, ready
from tradestorm.kube.secrets import with_generated_values
from tradestorm.kube.status import read_components
from tradestorm.targets import Connection, Say, TargetStatus

Obj = dict[str, Any]


#: Jobs are immutable once created: a finished one is deleted before applying again.
_FINISHED = ("Complete", "Failed")


class KubernetesTarget:
    """The platform on a cluster (docs/contracts.md §5); see the module docstring."""

    name = "kubernetes"

    def __init__(
        self,
        context: str,
        overlay: str = "eks",
        namespace: str = "tradestorm",
        allowed_contexts: Sequence[str] = (),
        dry_run: bool = False,
        *,
        kubeconfig: Path | None = None,
        manifests_dir: Path | None = None,
        image_registry: str | None = None,
        poll_interval_s: float = 2.0,
        out: TextIO | None = None,
        connect: Callable[[str, Path | None], KubeConnection] | None = None,
    ) -> None:
        from tradestorm_chaos.allowlist import allowed_contexts as merge_allowed

        self.context = context
        self.overlay = overlay
        self.namespace = namespace
        self.allowed_contexts = merge_allowed(tuple(allowed_contexts))
        self.dry_run = dry_run
        self.kubeconfig = kubeconfig
        self.manifests_dir = manifests_dir
        self.image_registry = image_registry
        self.poll_interval_s = poll_interval_s
        self._out = out
        self._connect = connect or (lambda ctx, cfg: KubeConnection(ctx, cfg))

    # ------------------------------------------------------------------ guards

    def check_allowed(self) -> None:
        from tradestorm_chaos.allowlist import check_context_allowed
        from tradestorm_chaos.errors import ContextNotAllowed as ChaosContextNotAllowed

        try:
            check_context_allowed(self.context, self.allowed_contexts)
        except ChaosContextNotAllowed:
            raise ContextNotAllowed(self.context or "<none>", self.allowed_contexts) from None
        if self.namespace in PROTECTED_NAMESPACES:
            raise NamespaceNotAllowed(
                f"namespace '{self.namespace}' belongs to the cluster; the platform gets its own")

    def _print(self, line: str) -> None:
        print(line, file=self._out or sys.stdout, flush=True)

    # ------------------------------------------------------------------ rendering

    def render(self) -> list[Obj]:
        """The overlay's objects in apply order (offline; no cluster access)."""
        objects = render_overlay(resolve_overlay(self.overlay, self.manifests_dir))
        if self.image_registry:
            objects = with_registry(objects, self.image_registry)
        created = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
        used = sorted({o["metadata"]["namespace"] for o in objects
                       if o["metadata"].get("namespace")})
        if self.namespace not in used:
            raise RenderError(
                f"the overlay renders into namespace {', '.join(repr(n) for n in used)}, not "
                f"'{self.namespace}'; pass --namespace {used[0] if used else '...'} or change "
                "the overlay")
        for obj in objects:
            ns = obj["metadata"].get("namespace")
            if ns in PROTECTED_NAMESPACES:
                raise RenderError(f"{describe(obj)}: the overlay writes into the cluster's own "
                                  f"namespace '{ns}'")
            if ns and ns != self.namespace and ns not in created:
                raise RenderError(
                    f"{describe(obj)}: the overlay renders into namespace '{ns}', not "
                    f"'{self.namespace}'; pass --namespace {ns} or change the overlay")
        return install_order(objects)

    # ------------------------------------------------------------------ Target protocol

    def up(self, *, wait: bool = True, timeout_s: float = 120) -> TargetStatus:
        self.check_allowed()
        objects = self.render()
        if self.dry_run:
            for obj in objects:
                self._print(f"would apply {describe(obj)}")
            self._print(f"dry run: {len(objects)} objects for context '{self.context}', "
                        "nothing applied")
            return TargetStatus(target=self.name, running=False)
        conn = self._connect(self.context, self.kubeconfig)
        try:
            self._check_served(conn, objects)  # fail before writing anything
            for obj in objects:
                if obj["kind"] == "Job":
                    self._replace_finished_job(conn, obj)
                conn.apply(with_generated_values(conn, obj))
                self._print(f"applied {describe(obj)}")
            if wait:
                self._wait_rollout(conn, objects, timeout_s)
            return self._status(conn)
        finally:
            conn.close()

    def down(self, *, wait: bool = True, timeout_s: float = 300) -> None:
        self.check_allowed()
        objects = list(reversed(self.render()))
        if self.dry_run:
            for obj in objects:
                self._print(f"would delete {describe(obj)}")
            self._print(f"dry run: {len(objects)} objects for context '{self.context}', "
                        "nothing deleted")
            return
        conn = self._connect(self.context, self.kubeconfig)
        try:
            from tradestorm.kube.loadleases import remove_leftovers

            lever = None
            if conn.get("v1", "Namespace", self.namespace) is not None:
                for name in remove_leftovers(conn, self.namespace, all_runs=True):
                    self._print(f"deleted {name} in {self.namespace} (a run's load)")
                lever = ConfigMapLever(conn, self.namespace).read()
            served = []
            for obj in objects:
                if lever is not None and lever.engaged and obj["kind"] == "Namespace" \
                        and obj["metadata"]["name"] == self.namespace:
                    # the lever lives in the namespace: deleting it would release the lever
                    self._print(f"kept {describe(obj)}: {lever.describe()}; release it "
                                "('tradestorm lever release') and run down again to remove it")
                    continue
                try:
                    conn.resource(obj["apiVersion"], obj["kind"])
                except ApplyError:  # a kind the cluster does not serve: nothing of it exists
                    continue
                served.append(obj)
            for obj in served:
                if conn.delete(obj):
                    self._print(f"deleted {describe(obj)}")
            if wait:
                self._wait_gone(conn, served, timeout_s)
        finally:
            conn.close()

    def connect(self, *, say: Say = print, prometheus_url: str | None = None,
                dsn: str | None = None, for_run: bool = True) -> Connection:
        """The deployed platform as a run's connection (``tradestorm.kube.connect``)."""
        from tradestorm.kube.connect import connect_kubernetes

        return connect_kubernetes(self, say=say, prometheus_url=prometheus_url, dsn=dsn,
                                  for_run=for_run)

    def status(self) -> TargetStatus:
        self.check_allowed()
        conn = self._connect(self.context, self.kubeconfig)
        try:
            return self._status(conn)
        finally:
            conn.close()

    # ------------------------------------------------------------------ internals

    def _status(self, conn: KubeConnection) -> TargetStatus:
        if conn.get("v1", "Namespace", self.namespace) is None:
            return TargetStatus(target=self.name, running=False)
        components = read_components(conn, self.namespace)
        running = any(c.kind == "service" for c in components)
        return TargetStatus(target=self.name, running=running, components=components)

    @staticmethod
    def _check_served(conn: KubeConnection, objects: list[Obj]) -> None:
        missing = []
        for api_version, kind in dict.fromkeys((o["apiVersion"], o["kind"]) for o in objects):
            try:
                conn.resource(api_version, kind)
            except ApplyError:
                missing.append(f"{kind} ({api_version})")
        if missing:
            raise ApplyError(
                f"the cluster of context '{conn.context}' does not serve {', '.join(missing)}; "
                "install the operators first (docs/kubernetes.md, 'Cluster prerequisites'); "
                "nothing was applied")

    def _replace_finished_job(self, conn: KubeConnection, job: Obj) -> None:
        meta = job["metadata"]
        current = conn.get(job["apiVersion"], "Job", meta["name"], meta.get("namespace"))
        if current is None:
            return
        finished = any(c.get("type") in _FINISHED and c.get("status") == "True"
                       for c in (current.get("status") or {}).get("conditions") or [])
        if not finished:
            return  # running: applying the same spec is a no-op, a changed one is refused
        conn.delete(job)
        self._wait_gone(conn, [job], timeout_s=60)
        self._print(f"replaced finished {describe(job)}")

    def _wait_rollout(self, conn: KubeConnection, objects: list[Obj], timeout_s: float) -> None:
        waited = [o for o in objects if o["kind"] in WAITED_KINDS]
        pending = waited
        deadline = time.monotonic() + timeout_s
        details: dict[str, str] = {}
        while True:
            still = []
            for obj in pending:
                meta = obj["metadata"]
                live = conn.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
                if live is None:
                    details[describe(obj)] = "not found"
                    still.append(obj)
                    continue
                reason = failure(live)
                if reason:
                    raise RolloutFailed(f"{describe(obj)}: {reason}")
                done, detail = ready(live)
                details[describe(obj)] = detail
                if not done:
                    still.append(obj)
            if not still:
                self._print(f"rolled out: {len(waited)} workloads ready")
                return
            if time.monotonic() >= deadline:
                waiting = "; ".join(
                    f"{describe(o)}: {details[describe(o)]}{self._pod_problems(conn, o)}"
                    for o in still)
                raise RolloutTimeout(f"not ready after {timeout_s:g} s: {waiting}")
            pending = still
            time.sleep(min(self.poll_interval_s, max(0.0, deadline - time.monotonic())))

    @staticmethod
    def _pod_problems(conn: KubeConnection, obj: Obj) -> str:
        """Why the workload's pods do not start (ImagePullBackOff, CrashLoopBackOff, ...)."""
        selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")
        if obj["kind"] == "Job":
            selector = {"job-name": obj["metadata"]["name"]}
        if not selector:
            return ""
        label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        try:
            pods = conn.list("v1", "Pod", obj["metadata"].get("namespace"), label_selector)
        except KubeError:
            return ""
        reasons: dict[str, None] = {}
        for pod in pods:
            status = pod.get("status") or {}
            for cs in (status.get("initContainerStatuses") or []) + \
                    (status.get("containerStatuses") or []):
                state = cs.get("state") or {}
                waiting = state.get("waiting") or {}
                if waiting.get("reason") and waiting["reason"] not in ("PodInitializing",
                                                                         "ContainerCreating"):
                    message = (waiting.get("message") or "").splitlines()[0:1]
                    reasons[f"{cs.get('name')}: {waiting['reason']}"
                            + (f" ({message[0][:160]})" if message else "")] = None
            for cond in status.get("conditions") or []:
                if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                    reasons[f"unschedulable: {(cond.get('message') or '')[:160]}"] = None
        return f" [pods: {'; '.join(reasons)}]" if reasons else ""

    def _wait_gone(self, conn: KubeConnection, objects: list[Obj], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        remaining = list(objects)
        while True:
            remaining = [o for o in remaining if conn.get(
                o["apiVersion"], o["kind"], o["metadata"]["name"],
                o["metadata"].get("namespace")) is not None]
            if not remaining:
                return
            if time.monotonic() >= deadline:
                names = ", ".join(describe(o) for o in remaining[:10])
                raise DeleteError(f"still present after {timeout_s:g} s (finalizers?): {names}")
            time.sleep(min(self.poll_interval_s, max(0.0, deadline - time.monotonic())))
