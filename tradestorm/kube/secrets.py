"""Secrets whose values the target generates on the cluster instead of reading them from git.

An overlay marks a Secret with ``tradestorm.io/generate-keys: KEY,KEY`` and no data. On the
first ``up`` each named key gets a random URL-safe value (it may be placed in a URL, as the
database password is); on every later ``up`` the values already on the cluster are kept, so
a redeploy never changes a password that PostgreSQL's data folder was initialised with.
"""

from __future__ import annotations

import base64
import copy
import secrets
from typing import Any

from tradestorm.kube.client import KubeConnection

Obj = dict[str, Any]

GENERATE_ANNOTATION = "tradestorm.io/generate-keys"


def generated_keys(obj: Obj) -> list[str]:
    """The keys ``obj`` asks the target to generate (none for any other object)."""
    if obj.get("kind") != "Secret":
        return []
    names = ((obj.get("metadata") or {}).get("annotations") or {}).get(GENERATE_ANNOTATION, "")
    return [name.strip() for name in names.split(",") if name.strip()]


def with_generated_values(conn: KubeConnection, obj: Obj) -> Obj:
    """``obj`` with a value for each generated key: the cluster's where it has one, else new."""
    keys = generated_keys(obj)
    if not keys:
        return obj
    meta = obj["metadata"]
    live = conn.get("v1", "Secret", meta["name"], meta.get("namespace")) or {}
    live_data = live.get("data") or {}
    filled = copy.deepcopy(obj)
    data = filled.setdefault("data", {})
    for key in keys:
        if key in data:
            continue
        data[key] = live_data.get(key) or base64.b64encode(secrets.token_hex(32).encode()).decode()
    return filled
