"""Least privilege: no wildcard, no secret reading beyond one named Secret, no
escalation verbs; and the harness role covers what the chaos driver
(experiments/tradestorm_chaos/drivers/kubernetes/) actually calls."""

from __future__ import annotations

from typing import Any

from tests.k8s.manifests import by_kind, ref

DANGEROUS_VERBS = {"*", "escalate", "bind", "impersonate"}


def grants(rules: list[dict[str, Any]], group: str, resource: str, verb: str,
           name: str | None = None) -> bool:
    for rule in rules:
        if group in rule.get("apiGroups", []) and resource in rule.get("resources", []) \
                and verb in rule.get("verbs", []):
            names = rule.get("resourceNames")
            if not names or name in names:
                return True
    return False


def test_no_role_is_a_wildcard_or_can_escalate(rendered: list[dict[str, Any]]) -> None:
    bad = []
    for role in by_kind(rendered, "Role") + by_kind(rendered, "ClusterRole"):
        for rule in role["rules"]:
            if "*" in rule.get("apiGroups", []) or "*" in rule.get("resources", []):
                bad.append(f"{ref(role)}: wildcard")
            if DANGEROUS_VERBS & set(rule.get("verbs", [])):
                bad.append(f"{ref(role)}: {DANGEROUS_VERBS & set(rule['verbs'])}")
            if "secrets" in rule.get("resources", []) and not rule.get("resourceNames"):
                bad.append(f"{ref(role)}: reads or writes every Secret")
    assert bad == []


def test_the_harness_can_do_what_the_chaos_driver_does(renders: dict[str, Any]) -> None:
    from tradestorm_chaos.drivers.kubernetes import CHAOS_MESH, CHAOS_MESH_PLURALS

    objects = renders["overlay:eks"]
    role = next(r for r in by_kind(objects, "Role") if r["metadata"]["name"] == "tradestorm-chaos")
    node = next(r for r in by_kind(objects, "ClusterRole")
                if r["metadata"]["name"] == "tradestorm-chaos-node-drain")
    needed = [("", "pods", v) for v in ("list", "get", "delete")] + [
        ("apps", "deployments", "get"), ("apps", "deployments", "list"),
        ("apps", "statefulsets", "get"), ("apps", "statefulsets", "patch"),
        ("apps", "deployments/scale", "patch"),
        ("autoscaling", "horizontalpodautoscalers", "list"),
        ("networking.k8s.io", "networkpolicies", "create"),
        ("networking.k8s.io", "networkpolicies", "delete"),
        ("networking.k8s.io", "networkpolicies", "list"),
    ] + [(CHAOS_MESH[0], plural, verb) for plural in CHAOS_MESH_PLURALS
         for verb in ("create", "delete", "list", "get")]
    missing = [n for n in needed if not grants(role["rules"], *n)]
    assert missing == []
    for n in [("", "nodes", "list"), ("", "nodes", "patch"), ("", "pods/eviction", "create")]:
        assert grants(node["rules"], *n), n
    # and both the in-cluster account and the human group hold it
    for binding_kind, name in (("RoleBinding", "tradestorm-chaos"),
                               ("ClusterRoleBinding", "tradestorm-chaos-node-drain")):
        binding = next(b for b in by_kind(objects, binding_kind)
                       if b["metadata"]["name"] == name)
        subjects = {(s["kind"], s["name"]) for s in binding["subjects"]}
        assert subjects == {("ServiceAccount", "tradestorm-harness"),
                            ("Group", "tradestorm:chaos-operators")}


def test_the_seed_job_may_write_only_the_accounts_secret(renders: dict[str, Any]) -> None:
    objects = renders["base+locust"]
    role = next(r for r in by_kind(objects, "Role") if r["metadata"]["name"] == "locust-seed")
    assert grants(role["rules"], "", "secrets", "patch", "locust-accounts")
    assert not grants(role["rules"], "", "secrets", "patch", "tradeplat-secrets")
    assert not grants(role["rules"], "", "secrets", "list")
