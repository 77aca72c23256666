"""Services select pods that exist, on ports those pods have; the scrape
configuration (ServiceMonitor/PodMonitor) points at real Services and ports;
the platform configuration names the real Services."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.k8s.manifests import by_kind, find, pods, ref, selector_matches


def test_every_service_selects_pods_that_exist_on_ports_they_have(
    rendered: list[dict[str, Any]],
) -> None:
    all_pods = pods(rendered)
    bad = []
    for svc in by_kind(rendered, "Service"):
        ns = svc["metadata"].get("namespace")
        selector = svc["spec"].get("selector")
        if not selector:
            bad.append(f"{ref(svc)}: no selector")
            continue
        selected = [p for p in all_pods
                    if p.namespace == ns and selector_matches({"matchLabels": selector}, p.labels)]
        if not selected:
            bad.append(f"{ref(svc)}: selects no pod")
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for p in selected:
                if target not in p.ports:
                    bad.append(f"{ref(svc)}: port {target!r} missing on {p.owner}")
    assert bad == []


def test_every_monitor_selects_a_port_that_exists(rendered: list[dict[str, Any]]) -> None:
    services = by_kind(rendered, "Service")
    all_pods = pods(rendered)
    bad = []
    for sm in by_kind(rendered, "ServiceMonitor"):
        ns = sm["metadata"].get("namespace")
        selected = [s for s in services if s["metadata"].get("namespace") == ns
                    and selector_matches(sm["spec"]["selector"], s["metadata"].get("labels", {}))]
        if not selected:
            bad.append(f"{ref(sm)}: selects no Service")
        for ep in sm["spec"]["endpoints"]:
            if not any(ep["port"] in {p.get("name") for p in s["spec"]["ports"]}
                       for s in selected):
                bad.append(f"{ref(sm)}: no selected Service has a port named {ep['port']}")
    for pm in by_kind(rendered, "PodMonitor"):
        ns = pm["metadata"].get("namespace")
        selected = [p for p in all_pods
                    if p.namespace == ns and selector_matches(pm["spec"]["selector"], p.labels)]
        for ep in pm["spec"]["podMetricsEndpoints"]:
            if not selected or any(ep["port"] not in p.ports for p in selected):
                bad.append(f"{ref(pm)}: port {ep['port']} missing on the selected pods")
    assert bad == []


def test_every_platform_service_is_scraped_with_service_and_replica_labels(
    renders: dict[str, Any],
) -> None:
    """docs/contracts.md §2: `service` from app.kubernetes.io/name, `replica` from the pod."""
    sm = find(renders["base"], "ServiceMonitor", "tradeplat")
    assert sm is not None
    ep = sm["spec"]["endpoints"][0]
    targets = {r["targetLabel"]: r["sourceLabels"] for r in ep["relabelings"]}
    assert targets["service"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    assert targets["replica"] == ["__meta_kubernetes_pod_name"]
    scraped = [s["metadata"]["name"] for s in by_kind(renders["base"], "Service")
               if selector_matches(sm["spec"]["selector"], s["metadata"]["labels"])]
    assert sorted(scraped) == sorted(["gateway", "orders", "risk", "portfolio", "marketdata",
                                      "analytics"])
    # 10 s windows in the recording rules need several samples per window
    assert ep["interval"] in ("1s", "2s", "3s", "5s")


def test_the_service_urls_in_the_config_name_real_services(renders: dict[str, Any]) -> None:
    objects = renders["overlay:eks"]
    config = next(o for o in by_kind(objects, "ConfigMap")
                  if o["metadata"]["name"].startswith("tradeplat-config"))
    services = {s["metadata"]["name"]: s for s in by_kind(objects, "Service")}
    urls = {k: v for k, v in config["data"].items() if k.endswith("_URL")}
    assert set(urls) == {f"TRADEPLAT_{s}_URL" for s in
                         ("ORDERS", "RISK", "PORTFOLIO", "MARKETDATA", "ANALYTICS")}
    for key, url in urls.items():
        parts = urlsplit(url)
        assert parts.hostname in services, key
        port = parts.port or 80
        assert port in {p["port"] for p in services[parts.hostname]["spec"]["ports"]}, key
    # every platform container reads that ConfigMap and the database URL
    for dep in by_kind(objects, "Deployment"):
        if dep["metadata"]["labels"].get("app.kubernetes.io/component") not in ("gateway", "api"):
            continue
        c = dep["spec"]["template"]["spec"]["containers"][0]
        assert c["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"]
        env = {e["name"]: e for e in c["env"]}
        assert env["TRADEPLAT_DATABASE_URL"]["value"].startswith(
            "postgresql://tradeplat:$(POSTGRES_PASSWORD)@postgres:5432/")
        names = [e["name"] for e in c["env"]]
        # the kubelet expands $(VAR) only from variables defined before
        assert names.index("POSTGRES_PASSWORD") < names.index("TRADEPLAT_DATABASE_URL")


def test_only_the_gateway_gets_the_admin_key(renders: dict[str, Any]) -> None:
    for dep in by_kind(renders["base"], "Deployment"):
        env = {e["name"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert ("TRADEPLAT_ADMIN_KEY" in env) == (dep["metadata"]["name"] == "gateway")


def secret_references(node: Any) -> set[str]:
    """Names of Secrets referenced anywhere below ``node`` (env secretKeyRef, volumes)."""
    refs: set[str] = set()
    if isinstance(node, dict):
        if "secretKeyRef" in node:
            refs.add(node["secretKeyRef"]["name"])
        if "secretName" in node:
            refs.add(node["secretName"])
        for v in node.values():
            refs |= secret_references(v)
    elif isinstance(node, list):
        for v in node:
            refs |= secret_references(v)
    return refs


def test_every_secret_reference_names_a_secret_the_overlay_provides(
    renders: dict[str, Any],
) -> None:
    for name in ("overlay:kind", "overlay:eks", "ops"):
        objects = renders[name]
        provided = {s["metadata"]["name"] for s in by_kind(objects, "Secret")}
        provided |= {e["spec"]["target"]["name"] for e in by_kind(objects, "ExternalSecret")}
        refs = secret_references(objects)
        assert {"tradeplat-secrets", "locust-accounts"} <= refs
        assert refs <= provided, (name, refs - provided)
