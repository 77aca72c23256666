"""Rendering helpers of the Kubernetes target: overlay lookup, apply order,
registry rewrite, the per-process render cache, and the image registry and tag set at
``up`` time (``--image-registry``/``--image-tag``: checked as image references, refused
with exit 2 naming the option before anything is rendered or applied; offline, with
``--dry-run``, so no cluster is needed)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tradestorm.cli import cli
from tradestorm.kube.errors import OverlayNotFound, RenderError
from tradestorm.kube.render import (
    OWN_IMAGES,
    check_image_registry,
    check_image_tag,
    image_overlay,
    install_order,
    render_overlay,
    resolve_overlay,
    with_registry,
)

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


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


@pytest.mark.parametrize("registry", [ECR, f"{ECR}/", "ghcr.io/some-org/team", "localhost:5000",
                                      "registry.example.com:443/a/b", "[::1]:5000"])
def test_a_registry_is_a_host_with_an_optional_port_and_path(registry: str) -> None:
    assert check_image_registry(registry) == registry.rstrip("/")


@pytest.mark.parametrize("registry", ["https://ghcr.io", "ghcr.io/Org", "reg istry", "",
                                      "-bad.example", "ghcr.io//x", "ghcr.io:port",
                                      "a" * 250 + ".io"])
def test_a_registry_that_is_no_image_reference_prefix_is_refused(registry: str) -> None:
    with pytest.raises(ValueError, match="registry|characters"):
        check_image_registry(registry)


@pytest.mark.parametrize("tag", ["0.1.0", "dev", "3f2a9c1e", "v1.2.3-rc.1_build", "A" * 128])
def test_a_tag_is_accepted(tag: str) -> None:
    assert check_image_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".hidden", "-x", "v1!", "a/b", "a:b", "A" * 129, "tág"])
def test_a_malformed_tag_is_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="not an image tag"):
        check_image_tag(tag)


def _images(objects: list[dict]) -> set[str]:
    out = set()
    for obj in objects:
        spec = obj.get("spec") or {}
        if obj["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        pod = (spec.get("template") or {}).get("spec") or {}
        out |= {c["image"] for c in pod.get("initContainers", []) + pod.get("containers", [])}
    return out


def test_the_image_overlay_moves_and_tags_only_this_repositorys_images(
    manifests: Path, tmp_path: Path,
) -> None:
    base = manifests / "overlays/kind"
    wrapped = image_overlay(base, tmp_path / "overlay", registry=f"{ECR}/", tag="3f2a9c1e")
    images = _images(render_overlay(wrapped))
    before = _images(render_overlay(base))
    ours = {i for i in images if i.startswith(ECR)}
    assert ours == {f"{ECR}/{name}:3f2a9c1e" for name in OWN_IMAGES}
    assert images - ours == {i for i in before if i.split(":")[0] not in OWN_IMAGES}
    only_tag = _images(render_overlay(image_overlay(base, tmp_path / "tag", tag="v2")))
    assert {f"{name}:v2" for name in OWN_IMAGES} <= only_tag


def test_the_image_overlay_refuses_before_writing_anything(manifests: Path,
                                                           tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        image_overlay(manifests / "overlays/kind", tmp_path / "o", registry="HTTPS://x")
    assert not (tmp_path / "o").exists()


UP = ["up", "--target", "kubernetes", "--context", "ctx", "--allow-context", "ctx", "--dry-run"]


@pytest.mark.parametrize(("args", "option"), [
    (["--image-registry", "https://ecr.example"], "--image-registry"),
    (["--image-registry", ECR, "--image-tag", "latest!"], "--image-tag"),
    (["--overlay", "qa", "--image-tag", "v1"], "--overlay"),
    (["--overlay", "qa"], "--overlay"),
])
def test_up_refuses_bad_input_naming_the_option_before_anything(
    args: list[str], option: str, manifests: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tradestorm.kube.target as kube_target

    def no_cluster(*_a: object, **_k: object) -> None:
        raise AssertionError("nothing may reach a cluster")

    monkeypatch.setattr(kube_target, "KubeConnection", no_cluster)
    overlay = [] if "--overlay" in args else ["--overlay", str(manifests / "overlays/kind")]
    result = CliRunner().invoke(cli, [*UP, *overlay, *args])
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert "would apply" not in result.output


def test_up_refuses_image_options_for_the_local_target() -> None:
    result = CliRunner().invoke(cli, ["up", "--image-tag", "v1"])
    assert result.exit_code == 2 and "--image-tag" in result.output
    assert "only with --target kubernetes" in result.output


def test_up_dry_run_with_a_registry_and_tag_renders_offline(manifests: Path) -> None:
    result = CliRunner().invoke(cli, [*UP, "--overlay", str(manifests / "overlays/dev"),
                                      "--image-registry", ECR, "--image-tag", "3f2a9c1e"])
    assert result.exit_code == 0, result.output
    assert "would apply Deployment tradestorm/gateway" in result.output
    assert "would apply CronJob tradestorm/postgres-backup" in result.output
