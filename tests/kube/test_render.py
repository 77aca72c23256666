"""Rendering helpers of the Kubernetes target: overlay lookup, apply order,
registry rewrite, the per-process render cache."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tradestorm.kube.errors import OverlayNotFound, RenderError
from tradestorm.kube.render import (
    install_order,
    render_overlay,
    resolve_overlay,
    with_registry,
)


def test_an_overlay_is_a_name_or_a_kustomization_folder(manifests: Path) -> None:
    assert resolve_overlay("kind", manifests) == manifests / "overlays/kind"
    assert resolve_overlay(str(manifests / "overlays/eks"), manifests) == \
        (manifests / "overlays/eks").resolve()
    with pytest.raises(OverlayNotFound):
        resolve_overlay(str(manifests / "base/services"), manifests)  # no kustomization.yaml
    with pytest.raises(OverlayNotFound):
        resolve_overlay("../base", manifests)  # names never climb out of overlays/


def test_namespaces_and_policies_come_before_workloads_custom_resources_last() -> None:
    kinds = ["PrometheusRule", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
             "Namespace", "Job", "ServiceAccount", "Secret"]
    objects = [{"kind": k, "apiVersion": "v1", "metadata": {"name": k.lower()}} for k in kinds]
    ordered = [o["kind"] for o in install_order(objects)]
    assert ordered == ["Namespace", "NetworkPolicy", "ServiceAccount", "Secret", "Deployment",
                       "HorizontalPodAutoscaler", "Job", "PrometheusRule"]


def _pod(image: str, kind: str = "Deployment") -> dict:
    containers = {"containers": [{"name": "c", "image": image}]}
    spec = {"jobTemplate": {"spec": {"template": {"spec": containers}}}} if kind == "CronJob" \
        else {"template": {"spec": containers}}
    return {"kind": kind, "apiVersion": "apps/v1", "metadata": {"name": "x"}, "spec": spec}


def test_the_registry_prefixes_only_this_repositorys_images() -> None:
    objs = [_pod("tradeplat:0.1.0"), _pod("tradestorm-loadgen@sha256:ab"),
            _pod("postgres:17.6-bookworm"), _pod("quay.io/x/tradeplat:1"),
            _pod("tradeplat:0.1.0", "CronJob")]
    with_registry(objs, "123.dkr.ecr.eu-west-1.amazonaws.com/")
    images = [o["spec"].get("template", o["spec"].get("jobTemplate", {}).get("spec", {})
                            .get("template"))["spec"]["containers"][0]["image"] for o in objs]
    assert images == ["123.dkr.ecr.eu-west-1.amazonaws.com/tradeplat:0.1.0",
                      "123.dkr.ecr.eu-west-1.amazonaws.com/tradestorm-loadgen@sha256:ab",
                      "postgres:17.6-bookworm", "quay.io/x/tradeplat:1",
                      "123.dkr.ecr.eu-west-1.amazonaws.com/tradeplat:0.1.0"]


@pytest.mark.parametrize("registry", ["https://ecr.example", "reg istry", ""])
def test_a_malformed_registry_is_refused(registry: str) -> None:
    with pytest.raises(RenderError, match="not a registry"):
        with_registry([_pod("tradeplat:1")], registry)


def test_rendering_is_offline_cached_and_redone_when_a_file_changes(
    manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import socket

    tree = tmp_path / "k8s"
    shutil.copytree(manifests, tree)
    overlay = tree / "overlays/kind"
    # the current context's server is a socket that counts connections: rendering must not
    # reach it
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        kubeconfig = tmp_path / "kc"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: here\n"
            f"clusters: [{{name: here, cluster: {{server: 'https://127.0.0.1:"
            f"{server.getsockname()[1]}'}}}}]\n"
            "users: [{name: here, user: {token: t}}]\n"
            "contexts: [{name: here, context: {cluster: here, user: here}}]\n")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        first = render_overlay(overlay)
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected
    assert render_overlay(overlay) == first  # cached, equal
    first[0]["metadata"]["name"] = "mutated"
    assert render_overlay(overlay)[0]["metadata"]["name"] != "mutated"  # copies, not shared
    config = tree / "base/config/kustomization.yaml"
    config.write_text(config.read_text().replace("TRADEPLAT_LOG_LEVEL=INFO",
                                                 "TRADEPLAT_LOG_LEVEL=DEBUG"))
    later = time.time() + 5
    os.utime(config, (later, later))
    cms = [o for o in render_overlay(overlay) if o["kind"] == "ConfigMap"
           and o["metadata"]["name"].startswith("tradeplat-config")]
    assert cms[0]["data"]["TRADEPLAT_LOG_LEVEL"] == "DEBUG"


def test_a_broken_kustomization_names_the_overlay(tmp_path: Path) -> None:
    overlay = tmp_path / "broken"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [does-not-exist.yaml]\n")
    with pytest.raises(RenderError, match="broken"):
        render_overlay(overlay)
