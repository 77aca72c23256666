"""HPAs, fixed replica counts (without-hpa) and disruption budgets."""

from __future__ import annotations

from typing import Any

from tests.k8s.manifests import by_kind, find, pods, ref, selector_matches

PLATFORM = ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics")


def test_every_hpa_targets_a_deployment_with_cpu_requests(rendered: list[dict[str, Any]]) -> None:
    bad = []
    for hpa in by_kind(rendered, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        dep = find(rendered, target["kind"], target["name"])
        if target["kind"] != "Deployment" or dep is None:
            bad.append(f"{ref(hpa)}: target {target} does not exist")
            continue
        for c in dep["spec"]["template"]["spec"]["containers"]:
            if "cpu" not in c.get("resources", {}).get("requests", {}):
                bad.append(f"{ref(hpa)}: container {c['name']} has no CPU request")
        spec = hpa["spec"]
        if not 1 <= spec["minReplicas"] <= spec["maxReplicas"]:
            bad.append(f"{ref(hpa)}: min/max replicas")
        if "replicas" in dep["spec"]:
            bad.append(f"{ref(dep)}: sets spec.replicas although an HPA owns it")
    assert bad == []


def test_every_hpa_scales_up_fast_and_down_slowly(rendered: list[dict[str, Any]]) -> None:
    for hpa in by_kind(rendered, "HorizontalPodAutoscaler"):
        behavior = hpa["spec"]["behavior"]
        up, down = behavior["scaleUp"], behavior["scaleDown"]
        assert up["stabilizationWindowSeconds"] < down["stabilizationWindowSeconds"], ref(hpa)
        assert up["policies"] and down["policies"], ref(hpa)
        assert hpa["spec"]["minReplicas"] >= 2, f"{ref(hpa)}: one replica is no redundancy"


def test_every_platform_service_autoscales_in_the_overlays(renders: dict[str, Any]) -> None:
    for name in ("overlay:kind", "overlay:eks"):
        targets = {h["spec"]["scaleTargetRef"]["name"]
                   for h in by_kind(renders[name], "HorizontalPodAutoscaler")}
        assert targets == set(PLATFORM), name


def test_without_hpa_removes_every_hpa_and_fixes_the_replicas(renders: dict[str, Any]) -> None:
    objects = renders["base+without-hpa"]
    assert by_kind(objects, "HorizontalPodAutoscaler") == []
    for svc in PLATFORM:
        dep = find(objects, "Deployment", svc)
        assert dep is not None and dep["spec"]["replicas"] >= 2, svc


def test_every_deployment_without_an_hpa_has_an_explicit_replica_count(
    rendered: list[dict[str, Any]],
) -> None:
    scaled = {h["spec"]["scaleTargetRef"]["name"]
              for h in by_kind(rendered, "HorizontalPodAutoscaler")}
    bad = [ref(d) for d in by_kind(rendered, "Deployment")
           if d["metadata"]["name"] not in scaled and "replicas" not in d["spec"]]
    assert bad == []


def test_every_pdb_selects_pods_and_allows_a_disruption(rendered: list[dict[str, Any]]) -> None:
    all_pods = pods(rendered)
    bad = []
    for pdb in by_kind(rendered, "PodDisruptionBudget"):
        ns = pdb["metadata"].get("namespace")
        selected = [p for p in all_pods
                    if p.namespace == ns and selector_matches(pdb["spec"]["selector"], p.labels)]
        if not selected:
            bad.append(f"{ref(pdb)}: selects no pod")
        if pdb["spec"].get("maxUnavailable", 0) in (0, "0%"):
            bad.append(f"{ref(pdb)}: maxUnavailable 0 blocks every node drain")
    assert bad == []


def test_every_platform_deployment_has_a_pdb_and_spreads(renders: dict[str, Any]) -> None:
    objects = renders["overlay:eks"]
    for svc in PLATFORM:
        assert find(objects, "PodDisruptionBudget", svc) is not None, svc
        spec = find(objects, "Deployment", svc)["spec"]["template"]["spec"]
        keys = {c["topologyKey"]: c for c in spec["topologySpreadConstraints"]}
        assert {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= set(keys)
        for c in keys.values():
            assert c["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == svc
