"""The Kubernetes driver: chaostoolkit-kubernetes (chaosk8s) plus the kubernetes client.

Nothing is touched unless the kube context AND the namespace are allowed
(``allowlist``): every mutating call goes through ``_mutate``, which checks the
allow-lists first and, in dry-run mode, prints the operation instead of
performing it. Reads (listing pods, reading HPAs) are allowed in dry-run so the
plan can name the pods it would kill.

How each fault is made, and which chaostoolkit-kubernetes defects are handled:

- ``kill_replicas``: ``chaosk8s.pod.actions.terminate_pods``. Its selection
  silently kills fewer pods than asked (or none) when fewer match, kills pods
  that are already terminating, and with no selector picks the whole
  namespace; so the victims are chosen here (running, not terminating, fail
  when fewer than ``count``) and pinned with ``name_pattern`` + ``all=True``.
- ``add_latency`` / ``cpu_stress``: Chaos Mesh ``NetworkChaos`` /
  ``StressChaos``. chaosk8s's ``add_latency`` cannot set ``spec.duration`` (the
  fault would outlive a chaos process killed with SIGKILL), writes
  ``metadata.ns`` instead of ``metadata.namespace`` and defaults to ``mode:
  one`` (a single pod); ``chaosk8s.crd.actions.create_custom_object`` treats a
  409 as success (an older object of the same name would be taken as ours). So
  the object is built here, with a unique name, our labels and a duration, and
  created through ``create_custom_object`` whose answer is checked; removal is
  ``chaosk8s.chaosmesh.network.actions.delete_network_fault`` /
  ``chaosk8s.chaosmesh.stress.actions.delete_stressor``.
- ``partition``: a Chaos Mesh ``NetworkChaos`` with ``action: partition``
  (every packet of the service's pods dropped, with a duration). NOT a
  deny-all ``NetworkPolicy`` (chaosk8s ``create_network_policy`` /
  ``deny_all_ingress``): NetworkPolicies are additive, so next to the
  platform's own per-service allow policies a deny-all one changes nothing,
  and it cannot expire by itself. Leftover NetworkPolicies labelled as ours
  (from other tools or older runs) are still audited and cleaned
  (``remove_network_policy``).
- ``database_outage``: ``chaosk8s.statefulset.actions.scale_statefulset`` to 0,
  then back to the replicas it had.
- ``service_outage``: ``chaosk8s.deployment.actions.scale_deployment`` to 0 and
  back. ``scale_deployment`` is undone by an HPA when scaling to a non-zero
  value; at 0 the HPA is inactive (ScalingDisabled), and the restore scales to
  ``max(original, hpa.minReplicas)`` so the HPA does not fight it.
- ``drain_node``: ``chaosk8s.node.actions.cordon_node`` / ``uncordon_node``,
  but NOT ``drain_nodes``, which evicts pods of every namespace (kube-system
  included), crashes on pods without owner references and gives up on the
  first PodDisruptionBudget refusal. Here only pods of the allowed namespace
  are evicted, through the eviction API, retrying while a PDB says 429.
- Readiness is read from ``status.readyReplicas`` (absent means 0):
  ``deployment_partially_available`` raises when no replica is available,
  which would turn "not ready" into a failed probe.

chaosk8s builds its client from ``$KUBECONFIG`` and ``secrets``; it would
also switch TLS verification off unless ``KUBERNETES_VERIFY_SSL`` is given,
so every chaosk8s call gets ``KUBERNETES_CONTEXT`` and
``KUBERNETES_VERIFY_SSL`` explicitly, under the kubeconfig of this driver.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from tradestorm_chaos.allowlist import check_context_allowed, check_namespace_allowed
from tradestorm_chaos.config import ChaosSettings
from tradestorm_chaos.drivers.base import ResidueItem, held_fault, wait_until
from tradestorm_chaos.errors import (
    DriverError,
    FaultNotRemoved,
    NotAllowed,
    TargetUnavailable,
)
from tradestorm_chaos.ledger import FaultRecord
from tradestorm_chaos.session import RunSession

logger = logging.getLogger("tradestorm_chaos")

MANAGED_BY = {"app.kubernetes.io/managed-by": "tradestorm-chaos"}
EXPIRES_ANNOTATION = "tradestorm.io/expires-at"
CHAOS_MESH = ("chaos-mesh.org", "v1alpha1")
CHAOS_MESH_PLURALS = ("networkchaos", "stresschaos", "podchaos", "iochaos", "httpchaos",
                      "timechaos")
EXPIRY_MARGIN_S = 5.0
RESTORE_TIMEOUT_S = 120.0
EVICTION_TIMEOUT_S = 60.0

_chaosk8s_lock = threading.Lock()


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _go_duration(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds))}s"


class KubernetesDriver:
    target = "kubernetes"

    def __init__(self, settings: ChaosSettings, session: RunSession) -> None:
        self.settings = settings
        self.session = session
        self.namespace = settings.namespace
        self.kubeconfig = str(settings.kubeconfig)
        self._api: Any = None
        self._context: str | None = settings.kube_context
        self._allowed_checked = False
        self._baseline: dict[str, Any] | None = None
        self._run_tag = uuid.uuid4().hex[:6]
        self._has_chaos_mesh: bool | None = None

    # ------------------------------------------------------------------ clients

    @property
    def context(self) -> str:
        if self._context is None:
            from kubernetes import config

            try:
                _, active = config.list_kube_config_contexts(config_file=self.kubeconfig)
            except Exception as exc:  # kubeconfig missing or malformed
                raise TargetUnavailable(f"kubeconfig {self.kubeconfig}: {exc}") from exc
            if not active:
                raise TargetUnavailable(f"kubeconfig {self.kubeconfig} has no current context")
            self._context = active["name"]
        return self._context

    @property
    def api(self) -> Any:
        if self._api is None:
            from kubernetes import config

            try:
                self._api = config.new_client_from_config(
                    config_file=self.kubeconfig, context=self.context)
            except Exception as exc:
                raise TargetUnavailable(
                    f"cannot use kube context {self.context!r} from {self.kubeconfig}: {exc}"
                ) from exc
        return self._api

    def _core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api)

    def _apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api)

    def _custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.api)

    def _networking(self) -> Any:
        from kubernetes import client

        return client.NetworkingV1Api(self.api)

    def _autoscaling(self) -> Any:
        from kubernetes import client

        return client.AutoscalingV2Api(self.api)

    @staticmethod
    def _json(call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Call a kubernetes client method and return the raw JSON as a dict.

        The client's typed models cost ~45 ms of CPU per answer (pydantic); the
        driver only needs a few fields, so it reads the JSON itself.
        """
        response = call(*args, _preload_content=False, **kwargs)
        return json.loads(response.data or b"{}")

    def _secrets(self) -> dict[str, Any]:
        return {"KUBERNETES_CONTEXT": self.context, "KUBERNETES_VERIFY_SSL": "true"}

    @contextmanager
    def _chaosk8s_env(self) -> Iterator[None]:
        """Point chaosk8s's client factory at this driver's kubeconfig for one call."""
        from kubernetes.config import kube_config

        with _chaosk8s_lock:
            saved_env = os.environ.get("KUBECONFIG")
            saved_default = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
            os.environ["KUBECONFIG"] = self.kubeconfig
            kube_config.KUBE_CONFIG_DEFAULT_LOCATION = self.kubeconfig
            try:
                yield
            finally:
                kube_config.KUBE_CONFIG_DEFAULT_LOCATION = saved_default
                if saved_env is None:
                    os.environ.pop("KUBECONFIG", None)
                else:
                    os.environ["KUBECONFIG"] = saved_env

    def _chaosk8s(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        with self._chaosk8s_env():
            try:
                return fn(secrets=self._secrets(), **kwargs)
            except Exception as exc:
                raise DriverError(f"{fn.__module__}.{fn.__name__}: {exc}") from exc

    # ------------------------------------------------------------------ safety

    def check_allowed(self) -> None:
        """Refuse (``NotAllowed``) unless both the context and the namespace are allowed."""
        if self._allowed_checked:
            return
        check_context_allowed(self.context, self.session.allowed_contexts)
        check_namespace_allowed(self.namespace, self.session.allowed_namespaces)
        self._allowed_checked = True

    def _mutate(self, describe: str, fn: Callable[[], Any]) -> Any:
        """The only way this driver changes anything: allow-list first, dry-run honoured."""
        if self.session.dry_run:
            self.session.plan(f"{describe} [context {self.context}, namespace {self.namespace}]")
            return None
        self.check_allowed()
        return fn()

    def preflight(self) -> None:
        if self.session.dry_run:
            try:
                self.check_allowed()
            except NotAllowed as exc:
                self.session.say(f"[dry-run] note: a real run would be refused: {exc}")
        else:
            self.check_allowed()
        try:
            self._json(self._core().read_namespace, self.namespace)
        except Exception as exc:
            if self.session.dry_run:
                self.session.say(f"[dry-run] note: cannot read namespace {self.namespace}: {exc}")
                return
            raise TargetUnavailable(
                f"namespace {self.namespace!r} in context {self.context!r}: {_reason(exc)}"
            ) from exc
        self.baseline()

    # ------------------------------------------------------------------ helpers

    def selector(self, service: str) -> str:
        return f"{self.settings.label_key}={service}"

    def _running_pods(self, service: str) -> list[dict[str, Any]]:
        pods = self._json(self._core().list_namespaced_pod, self.namespace,
                          label_selector=self.selector(service)).get("items", [])
        return sorted(
            (p for p in pods
             if not p["metadata"].get("deletionTimestamp")
             and (p.get("status") or {}).get("phase") in (None, "Running", "Pending")),
            key=lambda p: p["metadata"]["name"],
        )

    def _deployment(self, service: str) -> dict[str, Any]:
        try:
            return self._json(self._apps().read_namespaced_deployment, service, self.namespace)
        except Exception as exc:
            raise DriverError(f"deployment {self.namespace}/{service}: {_reason(exc)}") from exc

    def _statefulset(self, name: str) -> dict[str, Any]:
        try:
            return self._json(self._apps().read_namespaced_stateful_set, name, self.namespace)
        except Exception as exc:
            raise DriverError(f"statefulset {self.namespace}/{name}: {_reason(exc)}") from exc

    @staticmethod
    def _replicas(workload: dict[str, Any]) -> int:
        return int((workload.get("spec") or {}).get("replicas") or 0)

    def _hpa_for(self, service: str) -> dict[str, Any] | None:
        """The HPA whose scaleTargetRef is the service's Deployment (autoscaling/v2), or None."""
        for hpa in self._hpas():
            spec = hpa.get("spec") or {}
            ref = spec.get("scaleTargetRef") or {}
            if ref.get("kind") == "Deployment" and ref.get("name") == service:
                status = hpa.get("status") or {}
                return {
                    "name": hpa["metadata"]["name"],
                    "min_replicas": spec.get("minReplicas") or 1,
                    "max_replicas": spec.get("maxReplicas"),
                    "current_replicas": status.get("currentReplicas") or 0,
                    "desired_replicas": status.get("desiredReplicas") or 0,
                }
        return None

    def _hpas(self) -> list[dict[str, Any]]:
        try:
            return self._json(self._autoscaling().list_namespaced_horizontal_pod_autoscaler,
                              self.namespace).get("items", [])
        except Exception as exc:
            logger.debug("cannot list HPAs: %s", exc)
            return []

    def _nodes(self) -> list[dict[str, Any]]:
        try:
            return self._json(self._core().list_node).get("items", [])
        except Exception as exc:
            logger.debug("nodes not readable: %s", exc)
            return []

    def _policies(self) -> list[dict[str, Any]]:
        return self._json(self._networking().list_namespaced_network_policy, self.namespace,
                          label_selector="app.kubernetes.io/managed-by=tradestorm-chaos"
                          ).get("items", [])

    def _name(self, kind: str, service: str) -> str:
        clean = re.sub(r"[^a-z0-9-]", "-", service.lower())
        return f"ts-{kind}-{clean}-{self._run_tag}-{uuid.uuid4().hex[:4]}"[:63].rstrip("-")

    # ------------------------------------------------------------------ baseline

    def baseline(self) -> dict[str, Any]:
        """The namespace before any fault: replicas, HPAs, cordoned nodes, chaos objects."""
        if self._baseline is None:
            self._baseline = self._snapshot()
        return self._baseline

    def _deployments(self) -> list[dict[str, Any]]:
        return self._json(self._apps().list_namespaced_deployment,
                          self.namespace).get("items", [])

    def _statefulsets(self) -> list[dict[str, Any]]:
        return self._json(self._apps().list_namespaced_stateful_set,
                          self.namespace).get("items", [])

    def _snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = {"deployments": {}, "statefulsets": {}, "hpas": {},
                                "cordoned": set(), "chaos": set()}
        for d in self._deployments():
            snap["deployments"][d["metadata"]["name"]] = self._replicas(d)
        for s in self._statefulsets():
            snap["statefulsets"][s["metadata"]["name"]] = self._replicas(s)
        for h in self._hpas():
            spec = h.get("spec") or {}
            snap["hpas"][h["metadata"]["name"]] = (spec.get("minReplicas"),
                                                   spec.get("maxReplicas"))
        for n in self._nodes():
            if (n.get("spec") or {}).get("unschedulable"):
                snap["cordoned"].add(n["metadata"]["name"])
        snap["chaos"] = {(p, name) for p, name in self._chaos_objects()}
        return snap

    def _chaos_mesh_installed(self) -> bool:
        if self._has_chaos_mesh is None:
            from kubernetes.client.exceptions import ApiException

            try:
                self._json(self._custom().get_api_resources, *CHAOS_MESH)
                self._has_chaos_mesh = True
            except ApiException as exc:
                if exc.status != 404:
                    raise DriverError(f"API discovery of chaos-mesh.org: {_reason(exc)}") from exc
                self._has_chaos_mesh = False
        return self._has_chaos_mesh

    def _chaos_items(self, plural: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        if not self._chaos_mesh_installed():
            return []
        kwargs = {"label_selector": label_selector} if label_selector else {}
        try:
            return self._json(self._custom().list_namespaced_custom_object, *CHAOS_MESH,
                              self.namespace, plural, **kwargs).get("items", [])
        except Exception as exc:  # this kind is not served by the installed Chaos Mesh
            logger.debug("cannot list %s: %s", plural, exc)
            return []

    def _chaos_objects(self) -> list[tuple[str, str]]:
        return [(plural, i["metadata"]["name"])
                for plural in CHAOS_MESH_PLURALS for i in self._chaos_items(plural)]

    # ------------------------------------------------------------------ faults

    def kill_replicas(self, service: str, count: int) -> dict[str, Any]:
        from chaosk8s.pod.actions import terminate_pods

        self.session.check_not_aborted()
        pods = self._running_pods(service)
        if len(pods) < count:
            raise DriverError(f"asked to kill {count} pod(s) of {service}, only {len(pods)} "
                              f"running in {self.namespace} ({self.selector(service)})")
        victims = sorted(p["metadata"]["name"] for p in random.sample(pods, count))
        pattern = "^(" + "|".join(re.escape(v) for v in victims) + ")$"
        describe = (f"terminate pod(s) {', '.join(victims)} of {service} "
                    f"(chaosk8s terminate_pods, grace period 0)")
        if self.session.dry_run:
            self._mutate(describe, lambda: None)
            return {"dry_run": True, "killed": victims}
        record = self.session.ledger.open("kill_replicas", service, {"count": count})
        try:
            killed = self._mutate(describe, lambda: self._chaosk8s(
                terminate_pods, label_selector=self.selector(service), name_pattern=pattern,
                all=True, grace_period=0, ns=self.namespace))
        finally:
            self.session.ledger.close(record, at=record.start)
        record.undo["killed"] = killed
        if sorted(killed or []) != victims:
            raise DriverError(f"asked to kill {victims}, chaosk8s terminated {killed}")
        return {"killed": victims}

    def _chaos_object(self, plural: str, kind: str, name: str, spec: dict[str, Any],
                      duration_s: float) -> dict[str, Any]:
        return {
            "apiVersion": "/".join(CHAOS_MESH), "kind": kind,
            "metadata": {"name": name, "namespace": self.namespace, "labels": dict(MANAGED_BY),
                         "annotations": {EXPIRES_ANNOTATION: _rfc3339(
                             time.time() + duration_s + EXPIRY_MARGIN_S)}},
            "spec": {**spec, "duration": _go_duration(duration_s + EXPIRY_MARGIN_S)},
        }

    def _create_chaos(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        from chaosk8s.crd.actions import create_custom_object

        created = self._chaosk8s(create_custom_object, group=CHAOS_MESH[0],
                                 version=CHAOS_MESH[1], plural=plural, ns=self.namespace,
                                 resource=body)
        meta = (created or {}).get("metadata") or {}
        if created.get("kind") != body["kind"] or meta.get("name") != body["metadata"]["name"] \
                or meta.get("labels", {}).get("app.kubernetes.io/managed-by") != "tradestorm-chaos":
            raise DriverError(f"Chaos Mesh did not create {plural}/{body['metadata']['name']}: "
                              f"{str(created)[:300]}")
        return {"plural": plural, "name": meta["name"], "uid": meta.get("uid")}

    def _delete_chaos(self, plural: str, name: str) -> None:
        from chaosk8s.chaosmesh.network.actions import delete_network_fault
        from chaosk8s.chaosmesh.stress.actions import delete_stressor
        from kubernetes.client.exceptions import ApiException

        try:
            self._json(self._custom().get_namespaced_custom_object, *CHAOS_MESH, self.namespace,
                       plural, name)
        except ApiException as exc:
            if exc.status == 404:
                return  # already gone (expired or removed)
            raise DriverError(f"{plural}/{name}: {_reason(exc)}") from exc
        remover = {"networkchaos": delete_network_fault, "stresschaos": delete_stressor}.get(plural)
        if remover is not None:
            self._mutate(f"delete {plural}/{name}",
                         lambda: self._chaosk8s(remover, name=name, ns=self.namespace))
        else:
            self._mutate(f"delete {plural}/{name}", lambda: self._custom()
                         .delete_namespaced_custom_object(*CHAOS_MESH, self.namespace, plural,
                                                          name))
        if not self.session.dry_run and (plural, name) in self._chaos_objects():
            raise FaultNotRemoved(f"{plural}/{name} still exists after its deletion")

    def add_latency(self, service: str, ms: int, jitter_ms: int,
                    duration_s: float) -> dict[str, Any]:
        name = self._name("latency", service)
        spec = {
            "action": "delay", "mode": "all", "direction": "to",
            "selector": {"namespaces": [self.namespace],
                         "labelSelectors": {self.settings.label_key: service}},
            "delay": {"latency": f"{ms}ms", "jitter": f"{jitter_ms}ms", "correlation": "0"},
        }
        body = self._chaos_object("networkchaos", "NetworkChaos", name, spec, duration_s)
        return self._held(
            "add_latency", service, {"ms": ms, "jitter_ms": jitter_ms, "duration": duration_s},
            f"create NetworkChaos {name} (delay {ms}ms ±{jitter_ms}ms on {service})",
            lambda: self._mutate(f"create networkchaos/{name}",
                                 lambda: self._create_chaos("networkchaos", body)),
            lambda undo: self._delete_chaos("networkchaos", undo.get("name", name)),
            duration_s)

    def cpu_stress(self, service: str, duration_s: float, workers: int = 2,
                   load: int = 90) -> dict[str, Any]:
        name = self._name("cpu", service)
        spec = {
            "mode": "all",
            "selector": {"namespaces": [self.namespace],
                         "labelSelectors": {self.settings.label_key: service}},
            "stressors": {"cpu": {"workers": workers, "load": load}},
        }
        body = self._chaos_object("stresschaos", "StressChaos", name, spec, duration_s)
        return self._held(
            "cpu_stress", service, {"workers": workers, "load": load, "duration": duration_s},
            f"create StressChaos {name} ({workers} CPU worker(s) at {load}% in {service})",
            lambda: self._mutate(f"create stresschaos/{name}",
                                 lambda: self._create_chaos("stresschaos", body)),
            lambda undo: self._delete_chaos("stresschaos", undo.get("name", name)),
            duration_s)

    def partition(self, service: str, duration_s: float) -> dict[str, Any]:
        # Not a deny-all NetworkPolicy: policies are additive, and the platform's own
        # per-service allow policies (k8s/base/services/*/networkpolicy.yaml) would still
        # let the traffic through. Chaos Mesh drops the packets in the pods themselves.
        name = self._name("partition", service)
        spec = {
            "action": "partition", "mode": "all", "direction": "to",
            "selector": {"namespaces": [self.namespace],
                         "labelSelectors": {self.settings.label_key: service}},
        }
        body = self._chaos_object("networkchaos", "NetworkChaos", name, spec, duration_s)
        return self._held(
            "partition", service, {"duration": duration_s},
            f"create NetworkChaos {name} (partition: every packet of {service} dropped)",
            lambda: self._mutate(f"create networkchaos/{name}",
                                 lambda: self._create_chaos("networkchaos", body)),
            lambda undo: self._delete_chaos("networkchaos", undo.get("name", name)),
            duration_s)

    def _delete_policy(self, name: str) -> None:
        from chaosk8s.networking.actions import remove_network_policy
        from kubernetes.client.exceptions import ApiException

        try:
            self._json(self._networking().read_namespaced_network_policy, name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return
            raise DriverError(f"networkpolicy/{name}: {_reason(exc)}") from exc
        self._mutate(f"delete networkpolicy/{name}",
                     lambda: self._chaosk8s(remove_network_policy, name=name, ns=self.namespace))

    def service_outage(self, service: str, duration_s: float) -> dict[str, Any]:
        from chaosk8s.deployment.actions import scale_deployment

        original = self._replicas(self._deployment(service))
        if not original:
            raise DriverError(f"deployment {service} already has 0 replicas: nothing to take down")

        def inject() -> dict[str, Any]:
            self._mutate(f"scale deployment/{service} from {original} to 0",
                         lambda: self._chaosk8s(scale_deployment, name=service, replicas=0,
                                                ns=self.namespace))
            return {"deployment": service, "replicas": original}

        return self._held("service_outage", service, {"duration": duration_s},
                          f"scale deployment {service} to 0 (was {original})", inject,
                          lambda undo: self._restore_deployment(service,
                                                                undo.get("replicas", original)),
                          duration_s)

    def _restore_deployment(self, service: str, replicas: int) -> None:
        from chaosk8s.deployment.actions import scale_deployment

        hpa = self._hpa_for(service)
        target = max(replicas, hpa["min_replicas"]) if hpa else replicas
        current = self._replicas(self._deployment(service))
        if current >= target:
            return
        self._mutate(f"scale deployment/{service} back to {target}",
                     lambda: self._chaosk8s(scale_deployment, name=service, replicas=target,
                                            ns=self.namespace))
        if not self.session.dry_run and self._replicas(self._deployment(service)) < target:
            raise FaultNotRemoved(f"deployment {service} was not scaled back to {target}")

    def database_outage(self, duration_s: float) -> dict[str, Any]:
        from chaosk8s.statefulset.actions import scale_statefulset

        name = self.settings.database
        original = self._replicas(self._statefulset(name))
        if not original:
            raise DriverError(f"statefulset {name} already has 0 replicas")

        def inject() -> dict[str, Any]:
            self._mutate(f"scale statefulset/{name} from {original} to 0",
                         lambda: self._chaosk8s(scale_statefulset, name=name, replicas=0,
                                                ns=self.namespace))
            return {"statefulset": name, "replicas": original}

        return self._held("database_outage", "database", {"duration": duration_s},
                          f"scale statefulset {name} to 0 (was {original})", inject,
                          lambda undo: self._restore_statefulset(name,
                                                                 undo.get("replicas", original)),
                          duration_s)

    def _restore_statefulset(self, name: str, replicas: int) -> None:
        from chaosk8s.statefulset.actions import scale_statefulset

        current = self._replicas(self._statefulset(name))
        if current < replicas:
            self._mutate(f"scale statefulset/{name} back to {replicas}",
                         lambda: self._chaosk8s(scale_statefulset, name=name, replicas=replicas,
                                                ns=self.namespace))
        if self.session.dry_run:
            return
        if not wait_until(lambda: self._ready(self._statefulset(name)) >= replicas,
                          RESTORE_TIMEOUT_S):
            raise FaultNotRemoved(f"statefulset {name} did not get {replicas} ready replica(s) "
                                  f"back within {RESTORE_TIMEOUT_S:g}s")

    def drain_node(self, service: str, duration_s: float) -> dict[str, Any]:
        from chaosk8s.node.actions import cordon_node

        pods = [p for p in self._running_pods(service) if (p.get("spec") or {}).get("nodeName")]
        if not pods:
            raise DriverError(f"no running pod of {service} is scheduled on a node")
        cordoned_before = self.baseline()["cordoned"]
        candidates = sorted({p["spec"]["nodeName"] for p in pods} - set(cordoned_before))
        if not candidates:
            raise DriverError(f"every node running {service} is already cordoned")
        node = candidates[0]

        def inject() -> dict[str, Any]:
            self._mutate(f"cordon node/{node}",
                         lambda: self._chaosk8s(cordon_node, name=node))
            evicted = self._evict_namespace_pods(node)
            return {"node": node, "evicted": evicted}

        return self._held("drain_node", node, {"service": service, "duration": duration_s},
                          f"cordon node {node} and evict its pods of namespace {self.namespace}",
                          inject, lambda undo: self._uncordon(undo.get("node", node)),
                          duration_s)

    def _evict_namespace_pods(self, node: str) -> list[str]:
        from kubernetes.client.exceptions import ApiException

        core = self._core()
        pods = self._json(core.list_namespaced_pod, self.namespace,
                          field_selector=f"spec.nodeName={node}").get("items", [])
        evicted: list[str] = []
        for pod in pods:
            meta = pod["metadata"]
            if any(o.get("kind") == "DaemonSet" for o in meta.get("ownerReferences") or []):
                continue
            if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
                continue
            name = meta["name"]
            body = {"apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": name, "namespace": self.namespace}}
            deadline = time.monotonic() + EVICTION_TIMEOUT_S
            while True:
                try:
                    self._mutate(f"evict pod/{name} from node {node}",
                                 lambda n=name, b=body: self._json(
                                     core.create_namespaced_pod_eviction, n, self.namespace, b))
                    evicted.append(name)
                    break
                except ApiException as exc:
                    if exc.status == 404:
                        break
                    if exc.status == 429 and time.monotonic() < deadline:
                        self.session.hold(1.0)  # a PodDisruptionBudget says "not now"
                        continue
                    raise DriverError(f"evicting {name}: {_reason(exc)}") from exc
        return evicted

    def _uncordon(self, node: str) -> None:
        from chaosk8s.node.actions import uncordon_node

        if node in self.baseline()["cordoned"]:
            return  # it was cordoned before the run: leave it as it was
        self._mutate(f"uncordon node/{node}", lambda: self._chaosk8s(uncordon_node, name=node))
        if not self.session.dry_run:
            spec = self._json(self._core().read_node, node).get("spec") or {}
            if spec.get("unschedulable"):
                raise FaultNotRemoved(f"node {node} is still cordoned")

    def _held(self, action: str, target: str, args: dict[str, Any], describe: str,
              inject: Callable[[], Any], remove: Callable[[dict[str, Any]], None],
              duration_s: float) -> dict[str, Any]:
        def _inject() -> dict[str, Any]:
            return inject() or {}

        return held_fault(self.session, action=action, target=target, args=args,
                          describe=describe, inject=_inject, remove=remove,
                          duration_s=duration_s)

    # ------------------------------------------------------------------ rollbacks

    def remove_faults(self, service: str | None) -> list[str]:
        """Remove every fault this tool left on ``service`` (or on the whole namespace)."""
        removed: list[str] = []
        for plural in CHAOS_MESH_PLURALS:
            for item in self._chaos_items(plural, "app.kubernetes.io/managed-by=tradestorm-chaos"):
                selected = (((item.get("spec") or {}).get("selector") or {})
                            .get("labelSelectors") or {})
                if service is None or selected.get(self.settings.label_key) == service:
                    self._delete_chaos(plural, item["metadata"]["name"])
                    removed.append(f"{plural}/{item['metadata']['name']}")
        for policy in self._policies():
            labels = (((policy.get("spec") or {}).get("podSelector") or {})
                      .get("matchLabels") or {})
            if service is None or labels.get(self.settings.label_key) == service:
                self._delete_policy(policy["metadata"]["name"])
                removed.append(f"networkpolicy/{policy['metadata']['name']}")
        for record in self.session.ledger.open_records():
            if service is None or record.target == service:
                if record.action == "service_outage":
                    self._restore_deployment(record.target, record.undo.get("replicas", 1))
                    removed.append(f"deployment/{record.target} scaled back")
                if record.action in ("add_latency", "cpu_stress", "partition", "service_outage"):
                    self.session.ledger.close(record)
        return removed

    def restore_database(self) -> bool:
        name = self.settings.database
        replicas = self.baseline()["statefulsets"].get(name) or 1
        for record in self.session.ledger.open_records():
            if record.action == "database_outage":
                replicas = max(replicas, record.undo.get("replicas", replicas))
        was_down = self._replicas(self._statefulset(name)) < replicas
        self._restore_statefulset(name, replicas)
        for record in self.session.ledger.open_records():
            if record.action == "database_outage":
                self.session.ledger.close(record)
        return was_down

    def undo(self, record: FaultRecord) -> None:
        undo = record.undo
        if record.action in ("add_latency", "cpu_stress", "partition") and "name" in undo:
            self._delete_chaos(undo["plural"], undo["name"])
        elif record.action == "service_outage" and "replicas" in undo:
            self._restore_deployment(record.target, undo["replicas"])
        elif record.action == "database_outage" and "replicas" in undo:
            self._restore_statefulset(undo["statefulset"], undo["replicas"])
        elif record.action == "drain_node" and "node" in undo:
            self._uncordon(undo["node"])
        self.session.ledger.close(record)

    # ------------------------------------------------------------------ probes

    @staticmethod
    def _ready(workload: dict[str, Any]) -> int:
        return int((workload.get("status") or {}).get("readyReplicas") or 0)

    def services(self) -> list[str]:
        # a Deployment at zero replicas before any fault serves nothing: the load generator's
        # pod templates (k8s/components/locust), which each run instantiates as Jobs
        return sorted(name for name, replicas in self.baseline()["deployments"].items()
                      if replicas > 0)

    def prometheus_url(self) -> str | None:
        return self.settings.prometheus_url

    def service_ready(self, service: str) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            endpoints = self._json(self._core().read_namespaced_endpoints, service,
                                   self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise DriverError(f"endpoints {service}: {_reason(exc)}") from exc
            return self.replicas(service)[0] > 0
        return any(subset.get("addresses") for subset in endpoints.get("subsets") or [])

    def replicas(self, service: str) -> tuple[int, int]:
        deployment = self._deployment(service)
        return self._ready(deployment), self._replicas(deployment)

    def database_up(self) -> bool:
        statefulset = self._statefulset(self.settings.database)
        return self._ready(statefulset) >= max(1, self._replicas(statefulset))

    def hpa(self, service: str) -> dict[str, Any] | None:
        return self._hpa_for(service)

    # ------------------------------------------------------------------ audit

    def residue(self) -> list[ResidueItem]:
        base = self.baseline()
        items: list[ResidueItem] = []
        for plural, name in self._chaos_objects():
            if (plural, name) not in base["chaos"]:
                items.append(ResidueItem("chaos_mesh_object", f"{plural}/{name}",
                                         "Chaos Mesh object left in the namespace"))
        for policy in self._policies():
            items.append(ResidueItem("network_policy",
                                     f"networkpolicy/{policy['metadata']['name']}",
                                     "chaos NetworkPolicy left in the namespace"))
        hpa_min = {((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name"):
                   (h.get("spec") or {}).get("minReplicas") or 1 for h in self._hpas()}
        for kind, workloads, before_of in (
                ("deployment", self._deployments(), base["deployments"]),
                ("statefulset", self._statefulsets(), base["statefulsets"])):
            for w in workloads:
                name = w["metadata"]["name"]
                before = before_of.get(name)
                now = self._replicas(w)
                floor = hpa_min.get(name) if kind == "deployment" else None
                if before is not None and now < before and (floor is None or now < floor):
                    items.append(ResidueItem("scaled_down", f"{kind}/{name}",
                                             f"{now} replicas, {before} before the run"))
                elif now and self._ready(w) < now:
                    items.append(ResidueItem("replicas_not_ready", name,
                                             f"{self._ready(w)}/{now} replicas ready"))
        for h in self._hpas():
            spec = h.get("spec") or {}
            before = base["hpas"].get(h["metadata"]["name"])
            now_minmax = (spec.get("minReplicas"), spec.get("maxReplicas"))
            if before is not None and now_minmax != before:
                items.append(ResidueItem("hpa_modified", f"hpa/{h['metadata']['name']}",
                                         f"min/max {now_minmax}, {before} before the run"))
        for n in self._nodes():
            if (n.get("spec") or {}).get("unschedulable") \
                    and n["metadata"]["name"] not in base["cordoned"]:
                items.append(ResidueItem("node_cordoned", f"node/{n['metadata']['name']}",
                                         "cordoned during the run"))
        return items


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None)
    if status is not None:
        return f"{status} {reason or ''}".strip()
    return str(exc)
