"""Kubernetes recommended labels on every object and every pod."""

from __future__ import annotations

from typing import Any

from tests.k8s.manifests import pod_template, ref

REQUIRED = {"app.kubernetes.io/part-of": "tradestorm",
            "app.kubernetes.io/instance": "tradestorm"}
#: kustomize for everything k8s/ renders, kubectl for the hand-applied k8s/ops manifests
MANAGERS = ("kustomize", "kubectl")


def test_every_object_carries_the_recommended_labels(rendered: list[dict[str, Any]]) -> None:
    bad = []
    for obj in rendered:
        labels = obj["metadata"].get("labels") or {}
        for k, v in REQUIRED.items():
            if labels.get(k) != v:
                bad.append(f"{ref(obj)}: {k}")
        if labels.get("app.kubernetes.io/managed-by") not in MANAGERS:
            bad.append(f"{ref(obj)}: app.kubernetes.io/managed-by")
        if obj["kind"] not in ("NetworkPolicy",) and "app.kubernetes.io/name" not in labels:
            bad.append(f"{ref(obj)}: app.kubernetes.io/name")
        if "app.kubernetes.io/component" not in labels:
            bad.append(f"{ref(obj)}: app.kubernetes.io/component")
    assert bad == []


def test_every_pod_carries_name_component_and_part_of(rendered: list[dict[str, Any]]) -> None:
    bad = []
    for obj in rendered:
        tpl = pod_template(obj)
        if tpl is None:
            continue
        labels = tpl["metadata"].get("labels") or {}
        for k in ("app.kubernetes.io/name", "app.kubernetes.io/component",
                  "app.kubernetes.io/part-of"):
            if k not in labels:
                bad.append(f"{ref(obj)} pod: {k}")
    assert bad == []


def test_selectors_use_only_stable_labels(rendered: list[dict[str, Any]]) -> None:
    """Selectors are immutable: a version label in one would block every upgrade."""
    for obj in rendered:
        selector = (obj.get("spec") or {}).get("selector")
        if isinstance(selector, dict):
            labels = selector.get("matchLabels", selector)
            assert "app.kubernetes.io/version" not in labels, ref(obj)
