"""The allow-lists shared by chaos and ``tradestorm up --target kubernetes``."""

from __future__ import annotations

import pytest
from tradestorm_chaos.allowlist import (
    allowed_contexts,
    allowed_namespaces,
    check_context_allowed,
    check_namespace_allowed,
)
from tradestorm_chaos.errors import ChaosError, ContextNotAllowed, NamespaceNotAllowed


def test_explicit_entries_come_first_then_the_environment_deduplicated() -> None:
    env = {"TRADESTORM_ALLOWED_CONTEXTS": " kind-a, ,prod-eu,kind-a",
           "TRADESTORM_ALLOWED_NAMESPACES": "tradestorm"}
    assert allowed_contexts(["staging", "kind-a"], environ=env) == ["staging", "kind-a",
                                                                    "prod-eu"]
    assert allowed_namespaces(environ=env) == ["tradestorm"]
    assert allowed_contexts(environ={}) == []


def test_matching_is_exact_and_an_empty_context_is_never_allowed() -> None:
    check_context_allowed("prod", ["prod"])
    for context in ("prod-eu", "PROD", "", "pro"):
        with pytest.raises(ContextNotAllowed) as refused:
            check_context_allowed(context, ["prod"])
        assert isinstance(refused.value, ChaosError)
        assert "--allow-context" in str(refused.value)


def test_system_namespaces_are_refused_even_when_listed() -> None:
    check_namespace_allowed("tradestorm", ["tradestorm"])
    with pytest.raises(NamespaceNotAllowed, match="belongs to the cluster itself"):
        check_namespace_allowed("kube-system", ["kube-system"])
    with pytest.raises(NamespaceNotAllowed, match="allowed: none"):
        check_namespace_allowed("tradestorm", [])
