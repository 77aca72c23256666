"""A connection to one kube context, with the kubernetes client's errors mapped.

Objects are written with server-side apply (``PATCH`` with
``application/apply-patch+yaml`` and field manager ``tradestorm``), as
``kubectl apply --server-side`` does: declarative (no read-modify-write, no
last-applied annotation), one request per object, for built-in kinds and
custom resources alike, and it leaves alone the fields other managers own —
the HPA owns ``spec.replicas`` of the Deployments (the manifests omit it), the
seed Job owns the data of ``locust-accounts``. Conflicts are forced: for the
fields the manifests set, ``k8s/`` is the source of truth (a ``kubectl edit``
of one of them is undone by the next ``up``, as with ``kubectl apply
--server-side --force-conflicts``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from tradestorm.kube.errors import ApiUnavailable, ApplyError, DeleteError, KubeconfigError

FIELD_MANAGER = "tradestorm"
REQUEST_TIMEOUT_S = 30.0

Obj = dict[str, Any]


def describe(obj: Obj) -> str:
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{obj['kind']} {ns + '/' if ns else ''}{meta['name']}"


def _api_message(exc: ApiException) -> str:
    import json

    try:
        return json.loads(exc.body or "{}").get("message") or exc.reason or str(exc.status)
    except ValueError:
        return exc.reason or str(exc.status)


class KubeConnection:
    """The API of one context of one kubeconfig."""

    def __init__(self, context: str, kubeconfig: Path | None = None) -> None:
        self.context = context
        # $KUBECONFIG is read now, not when the kubernetes package was imported
        # (its default location is a module constant); a ':'-list is merged.
        config_file = str(kubeconfig) if kubeconfig else os.environ.get("KUBECONFIG") or None
        try:
            api_client = k8s_config.new_client_from_config(
                config_file=config_file, context=context, persist_config=False)
        except ConfigException as exc:
            raise KubeconfigError(f"kube context '{context}': {exc}") from None
        except OSError as exc:
            raise KubeconfigError(f"kubeconfig {kubeconfig or '(default)'}: {exc}") from None
        self.api_client = api_client
        self.host = api_client.configuration.host
        try:
            self.dynamic = DynamicClient(api_client)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ApiUnavailable(f"kube context '{context}' ({self.host}): API server "
                                 f"unreachable: {exc}") from None
        except ApiException as exc:
            raise ApiUnavailable(f"kube context '{context}' ({self.host}): discovery failed: "
                                 f"{_api_message(exc)}") from None

    def close(self) -> None:
        self.api_client.close()

    # ------------------------------------------------------------------ resources

    def resource(self, api_version: str, kind: str) -> Any:
        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ApiUnavailable(f"discovery of {kind} ({api_version}): API server {self.host} "
                                 f"unreachable: {exc}") from None
        except ResourceNotFoundError:
            raise ApplyError(
                f"the cluster of context '{self.context}' does not serve {kind} ({api_version}); "
                "install its operator first (docs/kubernetes.md, 'Cluster prerequisites')"
            ) from None

    def _call(self, what: str, fn: Any, *args: Any, error: type[Exception] = ApplyError,
              **kwargs: Any) -> Any:
        try:
            return fn(*args, _request_timeout=REQUEST_TIMEOUT_S, **kwargs)
        except ApiException as exc:
            raise error(f"{what}: {exc.status} {_api_message(exc)}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ApiUnavailable(f"{what}: API server {self.host} unreachable: {exc}") from None

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None
            ) -> Obj | None:
        res = self.resource(api_version, kind)
        try:
            obj = res.get(name=name, namespace=namespace if res.namespaced else None,
                          _request_timeout=REQUEST_TIMEOUT_S)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise ApplyError(f"read {kind} {name}: {exc.status} {_api_message(exc)}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ApiUnavailable(f"read {kind} {name}: API server {self.host} unreachable: "
                                 f"{exc}") from None
        return obj.to_dict()

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None) -> list[Obj]:
        res = self.resource(api_version, kind)
        kwargs: dict[str, Any] = {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        result = self._call(f"list {kind}", res.get,
                            namespace=namespace if res.namespaced else None, **kwargs)
        return [item.to_dict() if hasattr(item, "to_dict") else dict(item)
                for item in (result.to_dict().get("items") or [])]

    def apply(self, obj: Obj) -> Obj:
        """Server-side apply of one object (created when missing)."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        result = self._call(
            f"apply {describe(obj)}", self.dynamic.server_side_apply, res, body=obj,
            name=meta["name"], namespace=meta.get("namespace") if res.namespaced else None,
            field_manager=FIELD_MANAGER, force_conflicts=True)
        return result.to_dict()

    def delete(self, obj: Obj) -> bool:
        """Delete one object (dependents in the background); False when it did not exist."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        try:
            res.delete(name=meta["name"],
                       namespace=meta.get("namespace") if res.namespaced else None,
                       propagation_policy="Background",
                       _request_timeout=REQUEST_TIMEOUT_S)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise DeleteError(f"delete {describe(obj)}: {exc.status} {_api_message(exc)}"
                              ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ApiUnavailable(f"delete {describe(obj)}: API server {self.host} unreachable: "
                                 f"{exc}") from None
        return True
