"""``tradestorm status`` on the local target: the supervisor's own view of its components
(its control API), each proxy's faults in force, and what is left when the supervisor is
gone."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx

from tradestorm.local.processes import ProcessRecord
from tradestorm.local.state import read_state_file
from tradestorm.local.teardown import HTTP_TIMEOUT_S
from tradestorm.local.topology import SERVICES
from tradestorm.targets import ComponentStatus, TargetStatus


def target_status(target_name: str, state_dir: Path) -> TargetStatus:
    """The target of ``state_dir`` as ``tradestorm status`` shows it."""
    state = read_state_file(state_dir)
    if state is None:
        return TargetStatus(target_name, running=False)
    supervisor = ProcessRecord.from_state(state.get("supervisor"))
    sup_alive = supervisor is not None and supervisor.alive()
    components: list[ComponentStatus] = []
    control_url = (state.get("supervisor") or {}).get("control_url", "")
    view: dict[str, Any] | None = None
    if sup_alive and control_url:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            resp = httpx.get(f"{control_url}/status", timeout=HTTP_TIMEOUT_S)
            resp.raise_for_status()
            view = resp.json()
    if not sup_alive:
        leftovers = _live_processes(state)
        if not leftovers:
            return TargetStatus(target_name, running=False)
        components.append(ComponentStatus(
            "supervisor", "supervisor", False, control_url,
            detail=f"not running; {len(leftovers)} process(es) of the target are left: "
                   "run 'tradestorm down'"))
        return TargetStatus(target_name, running=True, components=components)
    phase = (view or {}).get("phase", state.get("phase", "?"))
    components.append(ComponentStatus(
        "supervisor", "supervisor", view is not None and phase == "ready", control_url,
        detail=f"pid {supervisor.pid if supervisor else '?'}, {phase}, since "
               f"{state.get('started_at', '?')}"
               + ("" if view is not None else "; control API not answering")))
    if view is None:
        return TargetStatus(target_name, running=True, components=components)
    db = view.get("database") or {}
    pg = state.get("postgres") or {}
    components.append(ComponentStatus(
        "postgres", "database", bool(db.get("up")), f"127.0.0.1:{pg.get('port', '?')}",
        detail=("stopped on request" if db.get("desired") == "stopped" else
                ("" if db.get("up") else "not accepting connections"))))
    prom_url = (state.get("prometheus") or {}).get("url") or ""
    components.append(ComponentStatus(
        "prometheus", "monitoring", bool(prom_url) and _http_ok(f"{prom_url}/-/ready"),
        prom_url))
    proxies = view.get("proxies") or {}
    proxy_running = bool(proxies.get("running"))
    proxy_down = "proxy process not running"
    if proxies.get("last_exit") is not None:  # what it said last says why
        said = (proxies.get("last_output") or "").strip().splitlines()[-1:]
        proxy_down += (f" (exited with {proxies['last_exit']} after "
                       f"{proxies.get('restarts', 0)} restart(s)"
                       + "".join(f": {line}" for line in said) + ")")
    for service in SERVICES:
        svc = (view.get("services") or {}).get(service) or {}
        desired, ready = int(svc.get("desired", 0)), int(svc.get("ready", 0))
        components.append(ComponentStatus(
            service, "service", desired > 0 and ready == desired,
            svc.get("proxy_url") or "", replicas_ready=ready, replicas_desired=desired,
            detail=f"{svc.get('restarts', 0)} restart(s)" if svc.get("restarts") else ""))
    addresses = proxies.get("addresses") or {}
    for name in (*SERVICES, "postgres"):
        entry = addresses.get(name) or {}
        detail = ""
        healthy = proxy_running
        control = entry.get("control_url")
        if proxy_running and control:
            faults = _http_json(f"{control}/faults")
            if faults is None:
                healthy, detail = False, "control API not answering"
            elif faults.get("faults"):
                # a fault in force is not a healthy platform (a killed run may have left it)
                healthy = False
                detail = "fault in force: " + ", ".join(f["kind"] for f in faults["faults"])
        elif not proxy_running:
            detail = proxy_down
        components.append(ComponentStatus(f"proxy/{name}", "proxy", healthy,
                                          entry.get("listen", ""), detail=detail))
    return TargetStatus(target_name, running=True, components=components)


def _live_processes(state: dict[str, Any]) -> list[ProcessRecord]:
    entries = [state.get("supervisor"), state.get("prometheus"), state.get("postgres"),
               state.get("proxy_process")]
    entries += [r for svc in (state.get("services") or {}).values()
                for r in (svc.get("replicas") or [])]
    records = [ProcessRecord.from_state(e) for e in entries]
    return [r for r in records if r is not None and r.alive()]


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=HTTP_TIMEOUT_S).status_code == 200
    except httpx.HTTPError:
        return False


def _http_json(url: str) -> dict[str, Any] | None:
    try:
        resp = httpx.get(url, timeout=HTTP_TIMEOUT_S)
        resp.raise_for_status()
        data = resp.json()
        return data if isinstance(data, dict) else None
    except (httpx.HTTPError, ValueError):
        return None
