"""Default deny, then exactly the flows the platform needs: computed over every
pair of pods and every port they serve, and compared with the expected flows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s.manifests import Pod, by_kind, find, pods, ref, selector_matches
from tests.k8s.netpol import Endpoint, allowed

CALLS = {  # who calls whom over HTTP inside the platform
    "gateway": {"orders", "risk", "portfolio", "marketdata", "analytics"},
    "orders": {"risk", "portfolio", "marketdata"},
    "risk": {"portfolio", "marketdata"},
    "analytics": {"marketdata"},
}
PLATFORM = {"gateway", "orders", "risk", "portfolio", "marketdata", "analytics"}

PROMETHEUS = Endpoint(Pod("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"},
                          {}))
OTHER_NS = Endpoint(Pod("intruder", "default", {"app.kubernetes.io/name": "prometheus"}, {}))
DNS = Endpoint(Pod("coredns", "kube-system", {"k8s-app": "kube-dns"},
                   {53: 53, "dns": 53}))
OUTSIDE = Endpoint(Pod("outside", "", {}, {}), external=True)


def expected_flows() -> set[tuple[str, str, int]]:
    flows = {(a, b, 8000) for a, bs in CALLS.items() for b in bs}
    flows |= {(s, "postgres", 5432) for s in
              PLATFORM | {"migrate", "postgres-backup", "locust-seed"}}
    flows |= {("locust-worker", "gateway", 8000), ("locust-worker", "locust-master", 5557)}
    return flows


def _platform_pods(objects: list[dict[str, Any]]) -> list[Pod]:
    return [p for p in pods(objects) if p.namespace == "tradestorm"]


@pytest.fixture
def with_locust(renders: dict[str, Any]) -> list[dict[str, Any]]:
    return renders["base+locust"]


def test_default_deny_covers_every_pod_both_ways(rendered: list[dict[str, Any]]) -> None:
    deny = [p for p in by_kind(rendered, "NetworkPolicy")
            if p["metadata"]["name"] == "default-deny"]
    assert len(deny) == 1
    spec = deny[0]["spec"]
    assert spec["podSelector"] == {} and set(spec["policyTypes"]) == {"Ingress", "Egress"}
    assert not spec.get("ingress") and not spec.get("egress")


def test_exactly_the_needed_flows_are_open_inside_the_namespace(
    with_locust: list[dict[str, Any]],
) -> None:
    policies = by_kind(with_locust, "NetworkPolicy")
    pod_list = _platform_pods(with_locust)
    open_flows = set()
    for src in pod_list:
        for dst in pod_list:
            for port in {v for v in dst.ports.values()}:
                if allowed(policies, Endpoint(src), Endpoint(dst), port):
                    open_flows.add((src.name, dst.name, port))
    assert open_flows == expected_flows()


def test_the_gateway_is_the_only_entry_point(with_locust: list[dict[str, Any]]) -> None:
    policies = by_kind(with_locust, "NetworkPolicy")
    for dst in _platform_pods(with_locust):
        for port in set(dst.ports.values()):
            entry = allowed(policies, OUTSIDE, Endpoint(dst), port)
            assert entry == (dst.name == "gateway" and port == 8000), (dst.name, port)


def test_prometheus_scrapes_metrics_ports_only(with_locust: list[dict[str, Any]]) -> None:
    policies = by_kind(with_locust, "NetworkPolicy")
    scraped = set()
    for dst in _platform_pods(with_locust):
        for port in set(dst.ports.values()):
            if allowed(policies, PROMETHEUS, Endpoint(dst), port):
                scraped.add((dst.name, port))
            # the same labels from another namespace get nothing (but the public gateway)
            if (dst.name, port) != ("gateway", 8000):
                assert not allowed(policies, OTHER_NS, Endpoint(dst), port), (dst.name, port)
    assert scraped == {(s, 8000) for s in PLATFORM} | {("postgres", 9187),
                                                         ("locust-worker", 9646)}


def test_every_pod_resolves_dns_and_nothing_else_leaves(with_locust: list[dict[str, Any]]
                                                         ) -> None:
    policies = by_kind(with_locust, "NetworkPolicy")
    for src in _platform_pods(with_locust):
        assert allowed(policies, Endpoint(src), DNS, 53, "UDP"), src.name
        assert allowed(policies, Endpoint(src), DNS, 53, "TCP"), src.name
        internet = allowed(policies, Endpoint(src), OUTSIDE, 443)
        # only the seed Job talks to the Kubernetes API (outside the pod network)
        assert internet == (src.name == "locust-seed"), src.name


def test_every_allowed_port_exists_on_the_selected_pods(rendered: list[dict[str, Any]]) -> None:
    all_pods = pods(rendered)
    bad = []
    for pol in by_kind(rendered, "NetworkPolicy"):
        ns = pol["metadata"]["namespace"]
        selected = [p for p in all_pods
                    if p.namespace == ns and selector_matches(pol["spec"]["podSelector"], p.labels)]
        if not selected:
            bad.append(f"{ref(pol)}: selects no pod")
        for rule in pol["spec"].get("ingress") or []:
            for rp in rule.get("ports") or []:
                for p in selected:
                    if rp["port"] not in p.ports:
                        bad.append(f"{ref(pol)}: ingress port {rp['port']!r} not on {p.owner}")
        for rule in pol["spec"].get("egress") or []:
            peers = [peer for peer in rule.get("to") or []
                     if "podSelector" in peer and "namespaceSelector" not in peer]
            targets = [p for p in all_pods if p.namespace == ns
                       and any(selector_matches(peer["podSelector"], p.labels) for peer in peers)]
            if peers and not targets:
                bad.append(f"{ref(pol)}: egress to pods that do not exist")
            for rp in rule.get("ports") or []:
                for p in targets:
                    if rp["port"] not in p.ports:
                        bad.append(f"{ref(pol)}: egress port {rp['port']!r} not on {p.owner}")
    assert bad == []


def test_the_evaluator_denies_what_no_policy_opens(with_locust: list[dict[str, Any]]) -> None:
    """The evaluator itself: without the per-service policies, default deny wins."""
    only_deny = [p for p in by_kind(with_locust, "NetworkPolicy")
                 if p["metadata"]["name"] == "default-deny"]
    pod_list = {p.name: p for p in _platform_pods(with_locust)}
    assert not allowed(only_deny, Endpoint(pod_list["gateway"]), Endpoint(pod_list["orders"]),
                       8000)
    assert allowed([], Endpoint(pod_list["gateway"]), Endpoint(pod_list["orders"]), 8000)


def test_the_mesh_authorizes_exactly_the_same_flows(renders: dict[str, Any]) -> None:
    """components/mesh: the AuthorizationPolicies (by ServiceAccount) admit the flows the
    NetworkPolicies admit (by label), no more, no less."""
    objects = renders["base+all"]
    pods_of: dict[str, set[str]] = {}  # service account -> pod names (app.kubernetes.io/name)
    for obj in objects:
        tpl = (obj.get("spec") or {}).get("template") or \
            ((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec", {}).get("template")
        if tpl and obj["metadata"].get("namespace") == "tradestorm":
            pods_of.setdefault(tpl["spec"]["serviceAccountName"], set()).add(
                tpl["metadata"]["labels"]["app.kubernetes.io/name"])
    shared = {sa: names for sa, names in pods_of.items() if len(names) > 1}
    assert shared == {}, "one identity per workload, or the mesh cannot tell them apart"
    account_of = {sa: names.pop() for sa, names in pods_of.items()}
    authorized = set()
    for pol in by_kind(objects, "AuthorizationPolicy"):
        if "selector" not in pol["spec"]:
            assert pol["spec"] == {}, "the namespace-wide policy must be the empty deny-all"
            continue
        target = pol["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for rule in pol["spec"]["rules"]:
            ports = [int(p) for op in rule["to"] for p in op["operation"]["ports"]]
            for src in rule.get("from", []):
                for principal in src["source"]["principals"]:
                    ns, sa = principal.split("/ns/")[1].split("/sa/")
                    if ns != "tradestorm":
                        continue  # Prometheus, checked by the NetworkPolicy tests
                    authorized |= {(account_of[sa], target, port) for port in ports}
    public = {f for f in expected_flows() if f[1] == "gateway"}  # gateway: any source
    assert authorized == expected_flows() - public
    peer = find(objects, "PeerAuthentication", "default")
    assert peer is not None and peer["spec"]["mtls"]["mode"] == "STRICT"
