"""The FAKE Kubernetes API server behaves like the real storage layer where tests rely on it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from fakes.kube_apiserver import FakeKubeApiServer, label_selector_matches


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[tuple[FakeKubeApiServer, Any]]:
    with FakeKubeApiServer(simulate_workloads=True) as fake:
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig", contexts=["one", "two"],
                                           namespace="default")
        api = config.new_client_from_config(str(kubeconfig), context="two")
        yield fake, api


def _deployment(name: str, replicas: int = 2, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name, **labels}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "x"}]}}}}


def test_label_selectors() -> None:
    labels = {"app": "orders", "tier": "backend"}
    assert label_selector_matches("app=orders,tier in (backend, db)", labels)
    assert label_selector_matches("app==orders,!canary,tier notin (web)", labels)
    assert not label_selector_matches("app!=orders", labels)
    assert not label_selector_matches("canary", labels)
    assert label_selector_matches("", labels)


def test_create_get_list_patch_replace_delete_and_record(kube: Any) -> None:
    fake, api = kube
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", _deployment("orders", tier="backend"))
    apps.create_namespaced_deployment("default", _deployment("web"))
    with pytest.raises(ApiException) as exists:
        apps.create_namespaced_deployment("default", _deployment("web"))
    assert exists.value.status == 409
    names = [d.metadata.name for d in apps.list_namespaced_deployment(
        "default", label_selector="tier=backend").items]
    assert names == ["orders"]
    patched = apps.patch_namespaced_deployment(
        "orders", "default", {"metadata": {"labels": {"tier": None, "team": "x"}}})
    assert patched.metadata.labels == {"app": "orders", "team": "x"}  # null removes a key
    apps.patch_namespaced_deployment("orders", "default",
                                     [{"op": "replace", "path": "/spec/replicas", "value": 5}])
    assert fake.get("apps/v1", "Deployment", "orders")["spec"]["replicas"] == 5
    assert apps.read_namespaced_deployment("orders", "default").status.ready_replicas == 5
    scale = apps.patch_namespaced_deployment_scale("orders", "default", {"spec": {"replicas": 1}})
    assert scale.spec.replicas == 1
    apps.delete_namespaced_deployment("orders", "default")
    with pytest.raises(ApiException) as gone:
        apps.read_namespaced_deployment("orders", "default")
    assert gone.value.status == 404
    methods = [(r.method, r.path) for r in fake.mutations()]
    assert ("DELETE", "/apis/apps/v1/namespaces/default/deployments/orders") in methods
    assert fake.requests_to("PATCH", "/scale")[0].body == {"spec": {"replicas": 1}}


def test_a_missing_namespace_is_404_and_cluster_objects_have_none(kube: Any) -> None:
    _fake, api = kube
    core = client.CoreV1Api(api)
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "c"}})
    assert missing.value.status == 404
    core.create_node({"metadata": {"name": "n1"}})
    assert [n.metadata.name for n in core.list_node(field_selector="metadata.name=n1").items] \
        == ["n1"]


def test_eviction_respects_a_pod_disruption_budget(kube: Any) -> None:
    fake, api = kube
    for i in range(2):
        fake.put({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": f"p{i}", "namespace": "default", "labels": {"app": "a"}},
                  "status": {"phase": "Running"}})
    fake.put({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
              "metadata": {"name": "pdb", "namespace": "default"},
              "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "a"}}}})
    core = client.CoreV1Api(api)
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p0"}}
    core.create_namespaced_pod_eviction("p0", "default", body)
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod_eviction("p1", "default", {**body, "metadata": {"name": "p1"}})
    assert refused.value.status == 429
    assert [p["metadata"]["name"] for p in fake.objects("v1", "Pod", "default")] == ["p1"]


def test_custom_objects_and_injected_failures(kube: Any) -> None:
    fake, api = kube
    custom = client.CustomObjectsApi(api)
    body = {"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
            "metadata": {"name": "lat"}, "spec": {"action": "delay"}}
    custom.create_namespaced_custom_object("chaos-mesh.org", "v1alpha1", "default",
                                           "networkchaos", body)
    fake.fail_next("DELETE", "/networkchaos/lat", 500, "boom")
    with pytest.raises(ApiException) as failed:
        custom.delete_namespaced_custom_object("chaos-mesh.org", "v1alpha1", "default",
                                               "networkchaos", "lat")
    assert failed.value.status == 500
    custom.delete_namespaced_custom_object("chaos-mesh.org", "v1alpha1", "default",
                                           "networkchaos", "lat")
    assert fake.objects("chaos-mesh.org/v1alpha1", "NetworkChaos") == []


def test_discovery_and_kubeconfig_contexts(kube: Any, tmp_path: Path) -> None:
    fake, _api = kube
    contexts, active = config.list_kube_config_contexts(str(tmp_path / "kubeconfig"))
    assert [c["name"] for c in contexts] == ["one", "two"] and active["name"] == "one"
    api = config.new_client_from_config(str(tmp_path / "kubeconfig"), context="one")
    assert client.VersionApi(api).get_code().git_version.endswith("-fake")
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"apps", "autoscaling", "policy", "networking.k8s.io", "chaos-mesh.org"} <= groups
    assert fake.url.startswith("http://127.0.0.1:")


def test_kubectl_can_apply_and_scale_against_it(kube: Any, tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is not installed"
    fake, _api = kube
    manifest = tmp_path / "m.yaml"
    import yaml

    manifest.write_text(yaml.safe_dump(_deployment("api")))
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "kubeconfig")}
    for args in (["apply", "--validate=false", "-f", str(manifest)],
                 ["apply", "--validate=false", "-f", str(manifest)],
                 ["scale", "deployment/api", "--replicas=4"],
                 ["rollout", "status", "deployment/api", "--timeout=10s"]):
        proc = subprocess.run([kubectl, *args], env=env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, (args, proc.stderr)
    assert fake.get("apps/v1", "Deployment", "api")["spec"]["replicas"] == 4
