"""The FAKE Kubernetes API server behaves like the real storage layer where its remaining users
rely on it: the chaos tests that need an API server failing on purpose or a controller the
test cluster does not run (tests/experiments), and the client-side benchmarks (server-side
apply of a whole overlay, create-or-replace, the driver's raw reads)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

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


def test_equality_label_selectors() -> None:
    labels = {"app": "orders", "tier": "backend"}
    assert label_selector_matches("app=orders,tier==backend", labels)
    assert label_selector_matches("app=orders,canary!=yes", labels)
    assert not label_selector_matches("app!=orders", labels)
    assert not label_selector_matches("tier=web", labels)
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
        "orders", "default", {"metadata": {"labels": {"tier": None, "team": "x"}},
                              "spec": {"replicas": 5}})
    assert patched.metadata.labels == {"app": "orders", "team": "x"}  # null removes a key
    assert fake.get("apps/v1", "Deployment", "orders")["metadata"]["generation"] == 2
    assert apps.read_namespaced_deployment("orders", "default").status.ready_replicas == 5
    current = apps.read_namespaced_deployment("web", "default")
    current.spec.replicas = 3
    apps.replace_namespaced_deployment("web", "default", current)
    stale = _deployment("web")
    stale["metadata"]["resourceVersion"] = current.metadata.resource_version
    with pytest.raises(ApiException) as conflict:  # that version was replaced meanwhile
        apps.replace_namespaced_deployment("web", "default", stale)
    assert conflict.value.status == 409
    apps.delete_namespaced_deployment("orders", "default")
    with pytest.raises(ApiException) as gone:
        apps.read_namespaced_deployment("orders", "default")
    assert gone.value.status == 404
    methods = [(r.method, r.path) for r in fake.requests if r.method != "GET"]
    assert ("DELETE", "/apis/apps/v1/namespaces/default/deployments/orders") in methods
    assert ("PUT", "/apis/apps/v1/namespaces/default/deployments/web") in methods


def test_server_side_apply_creates_then_merges_and_jobs_complete(kube: Any) -> None:
    fake, api = kube
    dynamic = DynamicClient(api)
    jobs = dynamic.resources.get(api_version="batch/v1", kind="Job")
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "migrate", "namespace": "default"},
           "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "x"}]}}}}
    created = dynamic.server_side_apply(jobs, body=job, name="migrate", namespace="default",
                                        field_manager="t", force_conflicts=True).to_dict()
    assert created["status"]["conditions"] == [{"type": "Complete", "status": "True"}]
    job["metadata"]["labels"] = {"a": "b"}
    dynamic.server_side_apply(jobs, body=job, name="migrate", namespace="default",
                              field_manager="t", force_conflicts=True)
    stored = fake.get("batch/v1", "Job", "migrate", "default")
    assert stored["metadata"]["labels"] == {"a": "b"} and stored["metadata"]["generation"] == 1
    patches = [r for r in fake.requests if r.method == "PATCH"]
    assert [r.content_type.split(";")[0] for r in patches] == ["application/apply-patch+yaml"] * 2


def test_a_missing_namespace_is_404_and_cluster_objects_have_none(kube: Any) -> None:
    _fake, api = kube
    core = client.CoreV1Api(api)
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "c"}})
    assert missing.value.status == 404
    core.create_node({"metadata": {"name": "n1"}})
    assert [n.metadata.name for n in core.list_node().items] == ["n1"]


def test_custom_objects_hooks_and_injected_failures(kube: Any) -> None:
    fake, api = kube
    seen: list[tuple[str, str]] = []
    fake.on_write(lambda event, obj: seen.append((event, obj["kind"])))
    custom = client.CustomObjectsApi(api)
    body = {"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
            "metadata": {"name": "lat"}, "spec": {"action": "delay"}}
    custom.create_namespaced_custom_object("chaos-mesh.org", "v1alpha1", "default",
                                           "networkchaos", body)
    fake.fail_next("DELETE", "/networkchaos/lat", 500, "boom")
    with pytest.raises(ApiException) as failed:
        custom.delete_namespaced_custom_object("chaos-mesh.org", "v1alpha1", "default",
                                               "networkchaos", "lat")
    assert failed.value.status == 500 and "boom" in failed.value.body
    custom.delete_namespaced_custom_object("chaos-mesh.org", "v1alpha1", "default",
                                           "networkchaos", "lat")
    assert fake.objects("chaos-mesh.org/v1alpha1", "NetworkChaos") == []
    assert seen == [("ADDED", "NetworkChaos"), ("DELETED", "NetworkChaos")]


def test_discovery_and_kubeconfig_contexts(kube: Any, tmp_path: Path) -> None:
    fake, _api = kube
    contexts, active = config.list_kube_config_contexts(str(tmp_path / "kubeconfig"))
    assert [c["name"] for c in contexts] == ["one", "two"] and active["name"] == "one"
    api = config.new_client_from_config(str(tmp_path / "kubeconfig"), context="one")
    assert client.VersionApi(api).get_code().git_version.endswith("-fake")
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"apps", "autoscaling", "policy", "networking.k8s.io", "chaos-mesh.org",
            "monitoring.coreos.com"} <= groups
    assert fake.url.startswith("http://127.0.0.1:")
