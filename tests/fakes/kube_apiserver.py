"""A FAKE Kubernetes API server for tests: no cluster, no controllers, just the REST surface.

``FakeKubeApiServer`` listens on 127.0.0.1 and a free port (plain HTTP), records
every request it receives (method, path, query, body) and keeps an in-memory
object store that behaves like the real API server's storage layer closely
enough for the ``kubernetes`` Python client, chaostoolkit-kubernetes and
``kubectl`` (with ``--validate=false``) to talk to it:

* create / get / list / patch / replace / delete, for namespaced and
  cluster-scoped objects under ``/api/v1/...`` and ``/apis/{group}/{version}/...``;
* patch bodies: JSON merge patch; strategic merge patch (treated as a merge
  patch: lists are replaced, not merged by key); and server-side apply
  (``application/apply-patch+yaml``, treated as a merge patch that creates the
  object when missing);
* equality label selectors (``=``, ``==``, ``!=``) on list; ``/status``
  subresources;
* minimal discovery: ``/version``, ``/api``, ``/api/v1``, ``/apis``,
  ``/apis/{group}``, ``/apis/{group}/{version}``;
* ``write_kubeconfig()``: a kubeconfig with several named contexts, all
  pointing at this server;
* ``fail_next()``: the next matching request is answered with an error (a real
  API server does not fail on demand: that is what the fake is still for).

What it does NOT do (it is a fake): no admission, no defaulting beyond
metadata, no validation of specs, no controllers (a Deployment does not create
pods; with ``simulate_workloads=True`` its ``status`` simply mirrors
``spec.replicas`` so readiness waits succeed, and a Job is complete as soon as
it is written), no watch, no authentication (any bearer token is accepted), no
TLS.

Every Kubernetes behaviour a real cluster can show is tested on the real
cluster of tests/cluster; this fake serves the few tests that need an API
server misbehaving on purpose, a controller the test cluster does not run, and
the client-side benchmarks (benchmarks/bench_chaos.py, bench_kube_target.py).

Typical use::

    with FakeKubeApiServer() as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig",
                                           contexts=["allowed", "prod"])
        kube.put({"apiVersion": "v1", "kind": "Pod", ...})
        ...  # run the code under test with KUBECONFIG=kubeconfig
        assert kube.requests  # every request, in order
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

__all__ = [
    "FakeKubeApiServer",
    "RecordedRequest",
    "ResourceType",
    "DEFAULT_RESOURCES",
]


# --------------------------------------------------------------------------- resource table


@dataclass(frozen=True)
class ResourceType:
    """One REST resource the fake serves (``plural`` under ``group/version``)."""

    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    subresources: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


def _r(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool = True,
    sub: tuple[str, ...] = (),
    short: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType(group, version, plural, kind, namespaced, sub, short)


DEFAULT_RESOURCES: tuple[ResourceType, ...] = (
    # core
    _r("", "v1", "namespaces", "Namespace", False, ("status",), ("ns",)),
    _r("", "v1", "nodes", "Node", False, ("status",), ("no",)),
    _r("", "v1", "pods", "Pod", True, ("status",), ("po",)),
    _r("", "v1", "services", "Service", True, ("status",), ("svc",)),
    _r("", "v1", "endpoints", "Endpoints", True, (), ("ep",)),
    _r("", "v1", "configmaps", "ConfigMap", True, (), ("cm",)),
    _r("", "v1", "secrets", "Secret"),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, (), ("sa",)),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("status",), ("pvc",)),
    # apps
    _r("apps", "v1", "deployments", "Deployment", True, ("status",), ("deploy",)),
    _r("apps", "v1", "statefulsets", "StatefulSet", True, ("status",), ("sts",)),
    # autoscaling
    _r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True,
       ("status",), ("hpa",)),
    # policy
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("status",),
       ("pdb",)),
    # networking
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, (), ("netpol",)),
    # batch
    _r("batch", "v1", "jobs", "Job", True, ("status",)),
    _r("batch", "v1", "cronjobs", "CronJob", True, ("status",), ("cj",)),
    # rbac
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    # Chaos Mesh (the driver lists every kind it may have made)
    _r("chaos-mesh.org", "v1alpha1", "networkchaos", "NetworkChaos"),
    _r("chaos-mesh.org", "v1alpha1", "podchaos", "PodChaos"),
    _r("chaos-mesh.org", "v1alpha1", "stresschaos", "StressChaos"),
    _r("chaos-mesh.org", "v1alpha1", "iochaos", "IOChaos"),
    _r("chaos-mesh.org", "v1alpha1", "timechaos", "TimeChaos"),
    _r("chaos-mesh.org", "v1alpha1", "httpchaos", "HTTPChaos"),
    # Prometheus operator (kube-prometheus-stack)
    _r("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor"),
    _r("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor"),
    _r("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule"),
)

_VERBS = ["create", "delete", "get", "list", "patch", "update"]


# --------------------------------------------------------------------------- recording


@dataclass
class RecordedRequest:
    """One request the fake received, in arrival order."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any  # parsed JSON/YAML, or raw text when it did not parse, or None
    content_type: str
    status: int = 0  # the status the fake answered with


# --------------------------------------------------------------------------- errors


class _ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status_object(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def _not_found(rt: ResourceType, name: str) -> _ApiError:
    res = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
    return _ApiError(404, "NotFound", f'{res} "{name}" not found',
                     {"name": name, "group": rt.group, "kind": rt.plural})


# --------------------------------------------------------------------------- patching


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (``null`` removes a key, lists are replaced)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --------------------------------------------------------------------------- selectors

def label_selector_matches(selector: str | None, labels: dict[str, str] | None) -> bool:
    """Does an equality-based label selector (``a=b,c!=d``, the ``labelSelector`` query)
    select ``labels``?"""
    labels = labels or {}
    for term in (t.strip() for t in (selector or "").split(",")):
        if not term:
            continue
        if "!=" in term:
            key, value = (part.strip() for part in term.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = (part.strip() for part in re.split("==|=", term, maxsplit=1))
            if labels.get(key) != value:
                return False
        else:
            raise _ApiError(400, "BadRequest", f"the fake serves equality selectors only: {term!r}")
    return True


# --------------------------------------------------------------------------- the server


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_Key = tuple[str, str, str, str]  # (group, plural, namespace or "", name)


class FakeKubeApiServer:
    """A FAKE Kubernetes API server (see the module docstring): records requests, stores objects.

    Thread-safe; start with ``start()`` or use as a context manager. ``url`` is
    ``http://127.0.0.1:PORT``.
    """

    def __init__(
        self,
        *,
        namespaces: Iterable[str] = ("default", "kube-system"),
        resources: Iterable[ResourceType] = DEFAULT_RESOURCES,
        simulate_workloads: bool = False,
        git_version: str = "v1.31.0-fake",
    ) -> None:
        self.simulate_workloads = simulate_workloads
        self.git_version = git_version
        self._resources: list[ResourceType] = list(resources)
        self._objects: dict[_Key, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._rv = itertools.count(1000)
        self.requests: list[RecordedRequest] = []
        self._fail_next: list[tuple[str, re.Pattern[str], int, str]] = []
        self._hooks: list[Callable[[str, dict[str, Any]], None]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for ns in namespaces:
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                     record=False)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeKubeApiServer:
        if self._httpd is not None:
            return self
        handler = _make_handler(self)
        self._httpd = _QuietThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-kube-apiserver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeKubeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeKubeApiServer is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ kubeconfig

    def write_kubeconfig(
        self,
        path: Path,
        contexts: Sequence[str] = ("fake-allowed", "fake-forbidden"),
        *,
        namespace: str | None = "default",
        current_context: str | None = None,
    ) -> Path:
        """Write a kubeconfig whose every context points at this fake server.

        Each context gets its own cluster and user entry (all the same fake);
        the current context is ``current_context`` or the first one.
        """
        if not contexts:
            raise ValueError("at least one context is needed")
        config: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [],
            "users": [],
            "contexts": [],
            "current-context": current_context or contexts[0],
        }
        for ctx in contexts:
            config["clusters"].append({"name": f"{ctx}-cluster", "cluster": {"server": self.url}})
            config["users"].append({"name": f"{ctx}-user", "user": {"token": f"fake-token-{ctx}"}})
            context: dict[str, Any] = {"cluster": f"{ctx}-cluster", "user": f"{ctx}-user"}
            if namespace:
                context["namespace"] = namespace
            config["contexts"].append({"name": ctx, "context": context})
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    # ------------------------------------------------------------------ test helpers

    def put(self, obj: dict[str, Any], *, record: bool = False) -> dict[str, Any]:
        """Store an object directly (seed data), as a create-or-replace; returns the stored copy.

        Namespaces of namespaced objects are created on the fly.
        """
        del record  # seeding is never recorded as a request
        rt = self.resource_for(obj.get("apiVersion", ""), obj.get("kind", ""))
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "default") if rt.namespaced else ""
        with self._lock:
            if rt.namespaced and ns and not self._exists_namespace(ns):
                self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            key = (rt.group, rt.plural, ns, meta["name"])
            stored = self._stamp(rt, copy.deepcopy(obj), ns, previous=self._objects.get(key))
            self._objects[key] = stored
            return copy.deepcopy(stored)

    def get(self, api_version: str, kind: str, name: str,
            namespace: str | None = None) -> dict[str, Any] | None:
        """The stored object, or None."""
        rt = self.resource_for(api_version, kind)
        key = (rt.group, rt.plural, (namespace or "default") if rt.namespaced else "", name)
        with self._lock:
            obj = self._objects.get(key)
            return copy.deepcopy(obj) if obj else None

    def objects(self, api_version: str, kind: str,
                namespace: str | None = None) -> list[dict[str, Any]]:
        """Every stored object of a kind (in ``namespace`` when given)."""
        rt = self.resource_for(api_version, kind)
        with self._lock:
            return [
                copy.deepcopy(o) for (g, p, ns, _), o in sorted(self._objects.items())
                if g == rt.group and p == rt.plural and (namespace is None or ns == namespace)
            ]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def fail_next(self, method: str, path_regex: str, code: int = 500,
                  message: str = "injected failure") -> None:
        """Answer the next request matching (method, path regex) with an error ``code``."""
        with self._lock:
            self._fail_next.append((method.upper(), re.compile(path_regex), code, message))

    def on_write(self, hook: Callable[[str, dict[str, Any]], None]) -> None:
        """Call ``hook(event, obj)`` (event: ADDED, MODIFIED, DELETED) after each API write.

        Hooks run under the store lock and may call ``put`` (e.g. to play a
        controller: an HPA that scales a deployment out).
        """
        self._hooks.append(hook)

    def resource_for(self, api_version: str, kind: str) -> ResourceType:
        group, _, version = api_version.rpartition("/")
        for rt in self._resources:
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        raise KeyError(f"the fake does not serve {api_version} {kind}")

    def register_resource(self, rt: ResourceType) -> None:
        """Serve one more resource type (e.g. a CRD the code under test uses)."""
        with self._lock:
            self._resources.append(rt)

    # ------------------------------------------------------------------ storage internals

    def _exists_namespace(self, ns: str) -> bool:
        return ("", "namespaces", "", ns) in self._objects

    def _stamp(self, rt: ResourceType, obj: dict[str, Any], ns: str,
               previous: dict[str, Any] | None) -> dict[str, Any]:
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if previous is None:
            meta["uid"] = meta.get("uid") or str(uuid.uuid4())
            meta["creationTimestamp"] = meta.get("creationTimestamp") or _now()
            meta["generation"] = 1
        else:
            pmeta = previous.get("metadata", {})
            meta["uid"] = pmeta.get("uid")
            meta["creationTimestamp"] = pmeta.get("creationTimestamp")
            generation = pmeta.get("generation", 1)
            if obj.get("spec") != previous.get("spec"):
                generation += 1
            meta["generation"] = generation
        meta["resourceVersion"] = str(next(self._rv))
        if rt.kind == "Namespace":
            obj.setdefault("status", {"phase": "Active"})
        if self.simulate_workloads and rt.kind in ("Deployment", "StatefulSet"):
            replicas = (obj.get("spec") or {}).get("replicas", 1)
            status = obj.setdefault("status", {})
            status.update({
                "replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                "updatedReplicas": replicas, "currentReplicas": replicas,
                "observedGeneration": meta["generation"],
            })
            if rt.kind == "Deployment":
                status["conditions"] = [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "True",
                     "reason": "NewReplicaSetAvailable"},
                ]
        if self.simulate_workloads and rt.kind == "Job" \
                and not (obj.get("status") or {}).get("conditions"):
            obj["status"] = {"succeeded": 1, "conditions": [{"type": "Complete",
                                                             "status": "True"}]}
        return obj

    def _fire(self, event: str, obj: dict[str, Any]) -> None:
        for hook in list(self._hooks):
            hook(event, copy.deepcopy(obj))

    # ------------------------------------------------------------------ request handling

    def _handle(self, method: str, raw_path: str, body_bytes: bytes,
                content_type: str) -> tuple[int, Any]:
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        body: Any = None
        if body_bytes:
            text = body_bytes.decode("utf-8", errors="replace")
            try:
                body = json.loads(text)
            except ValueError:
                try:
                    body = yaml.safe_load(text)
                except yaml.YAMLError:
                    body = text
        record = RecordedRequest(method, path, query, body, content_type)
        with self._lock:
            self.requests.append(record)
            try:
                for i, (m, rx, code, message) in enumerate(self._fail_next):
                    if m == method and rx.search(path):
                        del self._fail_next[i]
                        reason = HTTPStatus(code).phrase.replace(" ", "")
                        raise _ApiError(code, reason, message)
                status, payload = self._route(method, path, query, body, content_type)
            except _ApiError as exc:
                status, payload = exc.code, exc.status_object()
            record.status = status
        return status, payload

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               content_type: str) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return 200, {"major": "1", "minor": "31", "gitVersion": self.git_version,
                         "gitCommit": "0" * 40, "gitTreeState": "clean",
                         "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22.0",
                         "compiler": "gc", "platform": "linux/amd64"}
        if path in ("/healthz", "/livez", "/readyz"):
            return 200, "ok"
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [
                             {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
                         ]}
        if parts == ["apis"]:
            return 200, self._group_list()
        if parts and parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts and parts[0] == "apis" and len(parts) >= 2:
            if len(parts) == 2:
                return 200, self._group(parts[1])
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _ApiError(404, "NotFound", f"the server could not find the requested resource "
                                             f"({method} {path})")
        if not rest:
            return 200, self._resource_list(group, version)
        return self._resource_request(method, group, version, rest, query, body, content_type)

    # discovery ----------------------------------------------------------

    def _group_versions(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for rt in self._resources:
            if rt.group and rt.version not in groups.setdefault(rt.group, []):
                groups[rt.group].append(rt.version)
        return groups

    def _group(self, name: str) -> dict[str, Any]:
        versions = self._group_versions().get(name)
        if not versions:
            raise _ApiError(404, "NotFound", f"group {name} not served by the fake")
        gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": gvs,
                "preferredVersion": gvs[0]}

    def _group_list(self) -> dict[str, Any]:
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [self._group(g) for g in self._group_versions()]}

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        served = [rt for rt in self._resources if rt.group == group and rt.version == version]
        if not served:
            raise _ApiError(404, "NotFound", f"{group}/{version} not served by the fake")
        resources: list[dict[str, Any]] = []
        for rt in served:
            resources.append({
                "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                "kind": rt.kind, "verbs": _VERBS, "shortNames": list(rt.short_names),
            })
            for sub in rt.subresources:
                resources.append({"name": f"{rt.plural}/{sub}", "singularName": "",
                                  "namespaced": rt.namespaced, "kind": rt.kind,
                                  "verbs": ["get", "patch", "update"]})
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                "resources": resources}

    # resources ----------------------------------------------------------

    def _lookup(self, group: str, version: str, plural: str) -> ResourceType:
        for rt in self._resources:
            if rt.group == group and rt.version == version and rt.plural == plural:
                return rt
        raise _ApiError(404, "NotFound", f"the server could not find the requested resource "
                                         f"({group or 'core'}/{version} {plural})")

    def _resource_request(self, method: str, group: str, version: str, rest: list[str],
                          query: dict[str, list[str]], body: Any,
                          content_type: str) -> tuple[int, Any]:
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        rt = self._lookup(group, version, plural)
        if rt.namespaced and namespace == "" and name is not None:
            raise _ApiError(404, "NotFound", f"{plural} is namespaced: use /namespaces/NS/...")
        if not rt.namespaced and namespace:
            raise _ApiError(404, "NotFound", f"{plural} is cluster-scoped")
        if sub is not None and sub not in rt.subresources:
            raise _ApiError(404, "NotFound", f"{plural} has no subresource {sub}")

        if name is None:
            if method == "GET":
                selector = (query.get("labelSelector") or [None])[0]
                return 200, self._list(rt, namespace, selector)
            if method == "POST":
                return self._create(rt, namespace, body)
            raise _ApiError(405, "MethodNotAllowed", f"{method} not allowed on a collection")
        if method == "GET":
            return 200, self._get(rt, namespace, name)
        if method == "PUT":
            return self._replace(rt, namespace, name, body, status_only=sub == "status")
        if method == "PATCH":
            return self._patch(rt, namespace, name, body, content_type,
                               status_only=sub == "status")
        if method == "DELETE":
            return 200, self._delete(rt, namespace, name)
        raise _ApiError(405, "MethodNotAllowed", f"{method} not allowed on {plural}/{name}")

    def _key(self, rt: ResourceType, namespace: str, name: str) -> _Key:
        return (rt.group, rt.plural, namespace if rt.namespaced else "", name)

    def _get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self._objects.get(self._key(rt, namespace, name))
        if obj is None:
            raise _not_found(rt, name)
        return copy.deepcopy(obj)

    def _list(self, rt: ResourceType, namespace: str,
              label_selector: str | None) -> dict[str, Any]:
        items = []
        for (g, p, ns, _), obj in sorted(self._objects.items()):
            if g != rt.group or p != rt.plural:
                continue
            if rt.namespaced and namespace and ns != namespace:
                continue
            if not label_selector_matches(label_selector, obj["metadata"].get("labels")):
                continue
            item = copy.deepcopy(obj)
            item["apiVersion"] = rt.api_version
            items.append(item)
        return {"kind": f"{rt.kind}List", "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(next(self._rv))}, "items": items}

    def _check_body(self, rt: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _ApiError(400, "BadRequest", "the request body must be a JSON object")
        if body.get("kind") not in (None, rt.kind):
            raise _ApiError(400, "BadRequest",
                            f"kind {body.get('kind')!r} does not match {rt.plural} ({rt.kind})")
        return body

    def _create(self, rt: ResourceType, namespace: str, body: Any) -> tuple[int, Any]:
        obj = copy.deepcopy(self._check_body(rt, body))
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            else:
                raise _ApiError(422, "Invalid", f"{rt.kind}: metadata.name: Required value")
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise _ApiError(400, "BadRequest", "the namespace of the object does not match "
                                                   "the namespace on the request")
            namespace = namespace or body_ns or "default"
            if not self._exists_namespace(namespace):
                raise _ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                                {"name": namespace, "kind": "namespaces"})
        key = self._key(rt, namespace, meta["name"])
        if key in self._objects:
            res = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
            raise _ApiError(409, "AlreadyExists", f'{res} "{meta["name"]}" already exists',
                            {"name": meta["name"], "group": rt.group, "kind": rt.plural})
        stored = self._stamp(rt, obj, namespace, previous=None)
        self._objects[key] = stored
        self._fire("ADDED", stored)
        return 201, copy.deepcopy(stored)

    def _replace(self, rt: ResourceType, namespace: str, name: str, body: Any,
                 *, status_only: bool = False) -> tuple[int, Any]:
        obj = copy.deepcopy(self._check_body(rt, body))
        key = self._key(rt, namespace, name)
        previous = self._objects.get(key)
        if previous is None:
            raise _not_found(rt, name)
        sent_rv = (obj.get("metadata") or {}).get("resourceVersion")
        if sent_rv and sent_rv != previous["metadata"]["resourceVersion"]:
            raise _ApiError(409, "Conflict", f"Operation cannot be fulfilled on {rt.plural} "
                                             f'"{name}": the object has been modified')
        if status_only:
            new = copy.deepcopy(previous)
            new["status"] = obj.get("status")
        else:
            new = obj
            new.setdefault("metadata", {})["name"] = name
            if "status" in previous and "status" not in new:
                new["status"] = previous["status"]
        stored = self._stamp(rt, new, namespace, previous=previous)
        self._objects[key] = stored
        self._fire("MODIFIED", stored)
        return 200, copy.deepcopy(stored)

    def _apply_patch(self, current: dict[str, Any], body: Any, content_type: str) -> dict[str, Any]:
        ctype = content_type.split(";")[0].strip().lower()
        if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                     "application/apply-patch+yaml", "application/json", ""):
            if not isinstance(body, dict):
                raise _ApiError(400, "BadRequest", "a merge patch must be an object")
            return merge_patch(current, body)
        raise _ApiError(415, "UnsupportedMediaType", f"the fake does not support {ctype}")

    def _patch(self, rt: ResourceType, namespace: str, name: str, body: Any, content_type: str,
               *, status_only: bool = False) -> tuple[int, Any]:
        key = self._key(rt, namespace, name)
        previous = self._objects.get(key)
        if previous is None:
            if content_type.startswith("application/apply-patch"):
                obj = copy.deepcopy(self._check_body(rt, body))
                obj.setdefault("metadata", {})["name"] = name
                return self._create(rt, namespace, obj)
            raise _not_found(rt, name)
        patched = self._apply_patch(previous, body, content_type)
        if status_only:
            new = copy.deepcopy(previous)
            new["status"] = patched.get("status")
        else:
            new = patched
            meta = new.setdefault("metadata", {})
            meta["name"] = name
        stored = self._stamp(rt, new, namespace, previous=previous)
        self._objects[key] = stored
        self._fire("MODIFIED", stored)
        return 200, copy.deepcopy(stored)

    def _delete(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        key = self._key(rt, namespace, name)
        obj = self._objects.get(key)
        if obj is None:
            raise _not_found(rt, name)
        del self._objects[key]
        if rt.kind == "Namespace":
            for k in [k for k in self._objects if k[2] == name]:
                del self._objects[k]
        self._fire("DELETED", obj)
        if rt.kind == "Namespace":
            out = copy.deepcopy(obj)
            out["status"] = {"phase": "Terminating"}
            return out
        return copy.deepcopy(obj)

class _QuietThreadingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that hung up (keep-alive pool closed): not an error of the fake
        super().handle_error(request, client_address)


def _make_handler(server: FakeKubeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeKubeApiServer/1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return  # quiet: the recorded requests are the log

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            ctype = self.headers.get("Content-Type", "")
            status, payload = server._handle(self.command, self.path, body, ctype)
            if isinstance(payload, str):
                data, out_type = payload.encode(), "text/plain"
            else:
                data, out_type = json.dumps(payload).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", out_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return Handler
