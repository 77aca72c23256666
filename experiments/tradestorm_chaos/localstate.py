"""A small reader of the local target's ``STATE/state.json`` (docs/contracts.md §3).

The file format is the contract; this package does not import the local
target's code. Only what the local driver needs is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tradestorm_chaos.errors import TargetUnavailable

SCHEMA = 1


@dataclass(frozen=True)
class LocalState:
    path: Path
    supervisor_url: str
    supervisor_pid: int | None
    gateway_url: str
    prometheus_url: str | None
    proxy_urls: dict[str, str]  # service -> proxy_url (traffic)
    proxy_control_urls: dict[str, str]  # service (and "postgres") -> control url
    replicas: dict[str, list[dict[str, Any]]]
    postgres_pid: int | None
    raw: dict[str, Any]

    @property
    def services(self) -> list[str]:
        return sorted(self.proxy_urls)


# psutil derives create_time from clock ticks since boot (1/100 s)
_CREATE_TIME_TOLERANCE_S = 0.05


def _process_alive(entry: dict[str, Any]) -> bool:
    """Whether the process a ``state.json`` entry names still runs.

    A PID alone is not an identity (it is reused after a crash): like the local
    target itself, trust it only while its creation time and command-line
    marker (``create_time``, ``marker``; contracts §3) still match.
    """
    pid = entry.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        create_time = entry.get("create_time")
        if create_time and abs(proc.create_time() - float(create_time)) \
                > _CREATE_TIME_TOLERANCE_S:
            return False
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        marker = entry.get("marker")
        if marker and str(marker) not in " ".join(proc.cmdline()):
            return False
    except (psutil.Error, TypeError, ValueError):
        return False
    return True


def read_local_state(state_dir: Path) -> LocalState:
    """Read ``state.json``; ``TargetUnavailable`` when no local target runs in ``state_dir``."""
    path = Path(state_dir) / "state.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise TargetUnavailable(
            f"no local target runs in {state_dir} (no state.json); run 'tradestorm up'"
        ) from exc
    except (OSError, ValueError) as exc:
        raise TargetUnavailable(f"{path}: unreadable state file ({exc})") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise TargetUnavailable(f"{path}: unknown state schema (expected {SCHEMA})")
    supervisor = data.get("supervisor") or {}
    control = supervisor.get("control_url")
    if not control:
        raise TargetUnavailable(f"{path}: the supervisor has no control_url yet")
    if supervisor.get("pid") is not None and not _process_alive(supervisor):
        raise TargetUnavailable(
            f"the local target in {state_dir} is not running (its supervisor is gone)"
        )
    services = data.get("services") or {}
    proxy_urls: dict[str, str] = {}
    controls: dict[str, str] = {}
    replicas: dict[str, list[dict[str, Any]]] = {}
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        if svc.get("proxy_url"):
            proxy_urls[name] = svc["proxy_url"].rstrip("/")
        if svc.get("proxy_control_url"):
            controls[name] = svc["proxy_control_url"].rstrip("/")
        replicas[name] = list(svc.get("replicas") or [])
    for name, proxy in (data.get("proxies") or {}).items():
        if isinstance(proxy, dict) and proxy.get("control_url"):
            controls.setdefault(name, proxy["control_url"].rstrip("/"))
    prometheus = data.get("prometheus") or {}
    postgres = data.get("postgres") or {}
    return LocalState(
        path=path,
        supervisor_url=control.rstrip("/"),
        supervisor_pid=supervisor.get("pid"),
        gateway_url=(data.get("gateway_url") or "").rstrip("/"),
        prometheus_url=(prometheus.get("url") or "").rstrip("/") or None,
        proxy_urls=proxy_urls,
        proxy_control_urls=controls,
        replicas=replicas,
        postgres_pid=postgres.get("pid"),
        raw=data,
    )
