"""A small NetworkPolicy evaluator (the semantics of networking.k8s.io/v1).

A connection from pod A to port P of pod B is allowed when A's egress allows
it (no policy with Egress selects A, or some egress rule admits B and P) AND
B's ingress allows it (the same for ingress). Peers: podSelector (policy's
namespace), namespaceSelector (namespace labels: kubernetes.io/metadata.name),
both (AND), ipBlock (anything outside the pod network, modelled as pods
with ``external=True``). Ports: number or the name of a container port of the
destination; no ``ports`` means every port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.k8s.manifests import Pod, selector_matches


@dataclass(frozen=True)
class Endpoint:
    pod: Pod
    external: bool = False  # outside the pod network (API server, load balancer)


def _ns_labels(ns: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": ns}


def _peer_matches(peer: dict[str, Any], policy_ns: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        return other.external
    if other.external:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], _ns_labels(other.pod.namespace)):
            return False
    elif other.pod.namespace != policy_ns:
        return False
    if "podSelector" in peer:
        return selector_matches(peer["podSelector"], other.pod.labels)
    return True


def _port_matches(rule_ports: list[dict[str, Any]] | None, port: int, protocol: str,
                  dst: Pod) -> bool:
    if not rule_ports:
        return True
    for rp in rule_ports:
        if rp.get("protocol", "TCP") != protocol:
            continue
        if "port" not in rp:
            return True
        value = rp["port"]
        number = dst.ports.get(value) if isinstance(value, str) else value
        end = rp.get("endPort", number)
        if number is not None and number <= port <= end:
            return True
    return False


def _side_allows(policies: list[dict[str, Any]], me: Pod, other: Endpoint, port: int,
                 protocol: str, direction: str, dst: Pod) -> bool:
    mine = [p for p in policies
            if p["metadata"].get("namespace") == me.namespace
            and direction in p["spec"].get("policyTypes", ["Ingress"])
            and selector_matches(p["spec"]["podSelector"], me.labels)]
    if not mine:
        return True
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for pol in mine:
        for rule in pol["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(p, pol["metadata"]["namespace"], other)
                                 for p in peers):
                continue
            if _port_matches(rule.get("ports"), port, protocol, dst):
                return True
    return False


def allowed(policies: list[dict[str, Any]], src: Endpoint, dst: Endpoint, port: int,
            protocol: str = "TCP") -> bool:
    egress_ok = src.external or _side_allows(policies, src.pod, dst, port, protocol, "Egress",
                                             dst.pod)
    ingress_ok = dst.external or _side_allows(policies, dst.pod, src, port, protocol, "Ingress",
                                              dst.pod)
    return egress_ok and ingress_ok
