"""The local target's driver: the supervisor and the per-service proxies (contracts §3).

- ``kill_replicas``: ``POST /services/{service}/kill`` on the supervisor (SIGKILL);
  the supervisor restarts the replicas like a kubelet would.
- ``add_latency`` / ``partition`` / ``service_outage``: a ``latency`` /
  ``blackhole`` / ``refuse`` fault on the service's proxy, created WITH
  ``duration_s`` so that even a chaos process killed with SIGKILL cannot leave
  it behind (the proxy expires it), and deleted explicitly when the hold ends.
- ``database_outage``: ``POST /database/stop`` (with ``duration_s``, so the
  supervisor starts it again by itself if we crash) then ``/database/start`` on
  the supervisor: PostgreSQL really stops.
- ``cpu_stress`` and ``drain_node`` exist on Kubernetes only.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from tradestorm_chaos.config import SERVICES, ChaosSettings
from tradestorm_chaos.drivers.base import ResidueItem, held_fault, wait_until
from tradestorm_chaos.errors import (
    DriverError,
    FaultNotRemoved,
    TargetUnavailable,
    UnsupportedOnTarget,
)
from tradestorm_chaos.ledger import FaultRecord
from tradestorm_chaos.localstate import LocalState, read_local_state
from tradestorm_chaos.session import RunSession

logger = logging.getLogger("tradestorm_chaos")

#: the proxy fault kind each action creates (undo removes by kind when no id is known)
PROXY_FAULT_KINDS = {"add_latency": "latency", "partition": "blackhole",
                     "service_outage": "refuse"}
#: faults removed by the proxy itself this long after their nominal end, if we crash
EXPIRY_MARGIN_S = 5.0
DATABASE_START_TIMEOUT_S = 60.0


class LocalDriver:
    target = "local"

    def __init__(self, settings: ChaosSettings, session: RunSession) -> None:
        self.settings = settings
        self.session = session
        self._state: LocalState | None = None
        self._http = httpx.Client(timeout=settings.http_timeout_s, trust_env=False)

    # ------------------------------------------------------------------ plumbing

    @property
    def state(self) -> LocalState:
        if self._state is None:
            try:
                self._state = read_local_state(self.settings.state_dir)
            except TargetUnavailable as exc:
                if not self.session.dry_run:
                    raise
                self.session.say(f"[dry-run] note: {exc}; the plan names placeholder addresses")
                self._state = _placeholder_state(self.settings.state_dir)
        return self._state

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, url: str, json: Any = None, ok: tuple[int, ...] = (200, 201),
              timeout_s: float | None = None) -> httpx.Response:
        try:
            response = self._http.request(
                method, url, json=json,
                timeout=timeout_s if timeout_s is not None else self.settings.http_timeout_s)
        except httpx.HTTPError as exc:
            raise TargetUnavailable(f"{method} {url}: {exc!r}") from exc
        if response.status_code not in ok:
            raise DriverError(f"{method} {url} answered {response.status_code}: "
                              f"{response.text[:300]}")
        return response

    def _call_json(self, method: str, url: str, json: Any = None,
                   ok: tuple[int, ...] = (200, 201),
                   timeout_s: float | None = None) -> dict[str, Any]:
        """``_call`` and its JSON object; anything else is a ``DriverError``, so the
        journal and the residue are still written when a control API misbehaves."""
        response = self._call(method, url, json=json, ok=ok, timeout_s=timeout_s)
        if response.status_code == 204 or not response.content.strip():
            return {}
        try:
            data = response.json()
        except ValueError as exc:
            raise DriverError(f"{method} {url} answered {response.status_code} with no valid "
                              f"JSON: {response.text[:200]!r}") from exc
        if not isinstance(data, dict):
            raise DriverError(f"{method} {url} answered {type(data).__name__}, "
                              f"not a JSON object: {response.text[:200]!r}")
        return data

    def _faults(self, control: str) -> list[dict[str, Any]]:
        faults = self._call_json("GET", f"{control}/faults").get("faults", [])
        if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
            raise DriverError(f"GET {control}/faults: 'faults' is not a list of objects")
        return faults

    def _control_url(self, service: str) -> str:
        url = self.state.proxy_control_urls.get(service)
        if url is None:
            known = ", ".join(sorted(self.state.proxy_control_urls)) or "none"
            raise DriverError(f"unknown service {service!r} on the local target (known: {known})")
        return url

    def _status(self) -> dict[str, Any]:
        return self._call_json("GET", f"{self.state.supervisor_url}/status")

    def services(self) -> list[str]:
        return self.state.services

    def prometheus_url(self) -> str | None:
        return self.settings.prometheus_url or self.state.prometheus_url

    def preflight(self) -> None:
        if self.session.dry_run and self.state.raw.get("placeholder"):
            return
        self._status()  # reachable, or TargetUnavailable
        for url in self.state.proxy_control_urls.values():
            self._call("GET", f"{url}/healthz")

    # ------------------------------------------------------------------ faults

    def kill_replicas(self, service: str, count: int) -> dict[str, Any]:
        self.session.check_not_aborted()
        self._control_url(service)  # known service
        url = f"{self.state.supervisor_url}/services/{service}/kill"
        if self.session.dry_run:
            self.session.plan(f"POST {url} {{count: {count}, signal: SIGKILL}} "
                              f"(kill {count} replica(s) of {service})")
            return {"dry_run": True, "killed": []}
        record = self.session.ledger.open("kill_replicas", service, {"count": count})
        try:
            killed = self._call_json("POST", url, json={"count": count, "signal": "SIGKILL"})
        finally:
            self.session.ledger.close(record, at=record.start)
        victims = killed.get("killed") or []
        record.undo["killed"] = victims
        if len(victims) != count:
            raise DriverError(f"asked to kill {count} replica(s) of {service}, "
                              f"the supervisor killed {len(victims)}: {victims}")
        return {"killed": victims}

    def _proxy_fault(self, action: str, service: str, body: dict[str, Any], args: dict[str, Any],
                     duration_s: float) -> dict[str, Any]:
        control = self._control_url(service)
        body = {**body, "duration_s": duration_s + EXPIRY_MARGIN_S}

        def inject() -> dict[str, Any]:
            fault = self._call_json("POST", f"{control}/faults", json=body)
            if not fault.get("id"):
                raise DriverError(f"POST {control}/faults answered a fault without an id: "
                                  f"{fault}")
            return {"control_url": control, "fault_id": fault["id"],
                    "expires_at": fault.get("expires_at")}

        def remove(undo: dict[str, Any]) -> None:
            if "fault_id" in undo:
                self._remove_proxy_fault(undo["control_url"], undo["fault_id"])
            else:  # the POST failed or timed out: the proxy may still have made the fault
                self._remove_kind(control, body["kind"])

        return held_fault(self.session, action=action, target=service, args=args,
                          describe=f"POST {control}/faults {body} ({action} on {service})",
                          inject=inject, remove=remove, duration_s=duration_s)

    def _remove_proxy_fault(self, control: str, fault_id: str) -> None:
        self._call("DELETE", f"{control}/faults/{fault_id}", ok=(200, 204, 404))
        if any(f.get("id") == fault_id for f in self._faults(control)):
            raise FaultNotRemoved(f"fault {fault_id} is still active on {control}")

    def _remove_kind(self, control: str, kind: str) -> None:
        for fault in self._faults(control):
            if fault.get("kind") == kind:
                self._remove_proxy_fault(control, str(fault.get("id")))

    def add_latency(self, service: str, ms: int, jitter_ms: int,
                    duration_s: float) -> dict[str, Any]:
        return self._proxy_fault(
            "add_latency", service, {"kind": "latency", "latency_ms": ms, "jitter_ms": jitter_ms},
            {"ms": ms, "jitter_ms": jitter_ms, "duration": duration_s}, duration_s)

    def partition(self, service: str, duration_s: float) -> dict[str, Any]:
        return self._proxy_fault("partition", service, {"kind": "blackhole"},
                                 {"duration": duration_s}, duration_s)

    def service_outage(self, service: str, duration_s: float) -> dict[str, Any]:
        return self._proxy_fault("service_outage", service, {"kind": "refuse"},
                                 {"duration": duration_s}, duration_s)

    def database_outage(self, duration_s: float) -> dict[str, Any]:
        sup = self.state.supervisor_url

        def inject() -> dict[str, Any]:
            self._call("POST", f"{sup}/database/stop",
                       json={"duration_s": duration_s + EXPIRY_MARGIN_S},
                       timeout_s=DATABASE_START_TIMEOUT_S)
            if not wait_until(lambda: not self.database_up(), 30):
                raise DriverError("the database did not stop within 30s")
            return {"database": "stopped"}

        def remove(_undo: dict[str, Any]) -> None:
            self.restore_database()

        return held_fault(self.session, action="database_outage", target="database",
                          args={"duration": duration_s},
                          describe=f"POST {sup}/database/stop (stop PostgreSQL)",
                          inject=inject, remove=remove, duration_s=duration_s)

    def cpu_stress(self, service: str, duration_s: float, workers: int,
                   load: int) -> dict[str, Any]:
        raise UnsupportedOnTarget("cpu_stress runs on the kubernetes target only "
                                  "(the local target has no CPU limits nor HPA)")

    def drain_node(self, service: str, duration_s: float) -> dict[str, Any]:
        raise UnsupportedOnTarget("drain_node runs on the kubernetes target only "
                                  "(the local target has one node)")

    # ------------------------------------------------------------------ rollbacks

    def remove_faults(self, service: str | None) -> list[str]:
        controls = ({service: self._control_url(service)} if service
                    else dict(self.state.proxy_control_urls))
        removed: list[str] = []
        for name, control in sorted(controls.items()):
            if self.session.dry_run:
                self.session.plan(f"DELETE {control}/faults (remove every fault on {name})")
                continue
            answer = self._call_json("DELETE", f"{control}/faults", ok=(200, 204))
            removed += [f"{name}:{f.get('kind')}:{f.get('id')}" for f in answer.get("removed", [])]
            left = self._faults(control)
            if left:
                raise FaultNotRemoved(f"{len(left)} fault(s) still active on {name}")
        for record in self.session.ledger.open_records():
            if record.undo.get("control_url") in controls.values():
                self.session.ledger.close(record)
        return removed

    def restore_database(self) -> bool:
        """Start the database when it is stopped; True when it had to be started."""
        sup = self.state.supervisor_url
        if self.session.dry_run:
            self.session.plan(f"POST {sup}/database/start (when stopped)")
            return False
        if self.database_up():
            self._close_records("database_outage")
            return False
        self._call("POST", f"{sup}/database/start", timeout_s=DATABASE_START_TIMEOUT_S)
        if not wait_until(self.database_up, DATABASE_START_TIMEOUT_S):
            raise FaultNotRemoved(f"the database did not start within {DATABASE_START_TIMEOUT_S}s")
        self._close_records("database_outage")
        return True

    def _close_records(self, action: str) -> None:
        for record in self.session.ledger.open_records():
            if record.action == action:
                self.session.ledger.close(record)

    def undo(self, record: FaultRecord) -> None:
        if record.action == "database_outage":
            self.restore_database()
        elif record.action in PROXY_FAULT_KINDS:
            control = record.undo.get("control_url") or self._control_url(record.target)
            if record.undo.get("fault_id"):
                self._remove_proxy_fault(control, record.undo["fault_id"])
            else:  # the POST failed or its answer was lost: the proxy may still hold it
                self._remove_kind(control, PROXY_FAULT_KINDS[record.action])
        self.session.ledger.close(record)

    # ------------------------------------------------------------------ probes

    def service_ready(self, service: str) -> bool:
        url = self.state.proxy_urls.get(service)
        if url is None:
            raise DriverError(f"unknown service {service!r} on the local target")
        try:
            response = self._http.get(f"{url}/readyz",
                                      timeout=min(2.0, self.settings.http_timeout_s))
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def replicas(self, service: str) -> tuple[int, int]:
        status = self._status()
        entry = _service_status(status, service)
        if entry is None:
            raise DriverError(f"the supervisor does not know service {service!r}")
        return entry

    def database_up(self) -> bool:
        return _database_up(self._status())

    # ------------------------------------------------------------------ audit

    def residue(self) -> list[ResidueItem]:
        items: list[ResidueItem] = []
        for name, control in sorted(self.state.proxy_control_urls.items()):
            try:
                faults = self._faults(control)
            except (TargetUnavailable, DriverError) as exc:
                items.append(ResidueItem("proxy_unreachable", name, str(exc)))
                continue
            for fault in faults:
                items.append(ResidueItem("proxy_fault", name,
                                         f"{fault.get('kind')} fault {fault.get('id')} active"))
        try:
            status = self._status()
        except (TargetUnavailable, DriverError) as exc:
            return [*items, ResidueItem("supervisor_unreachable", "supervisor", str(exc))]
        if not _database_up(status):
            items.append(ResidueItem("database_stopped", "database", "PostgreSQL is not running"))
        for service in self.services():
            counts = _service_status(status, service)
            if counts is not None and counts[0] < counts[1]:
                items.append(ResidueItem("replicas_not_ready", service,
                                         f"{counts[0]}/{counts[1]} replicas ready"))
        return items


def _placeholder_state(state_dir: Any) -> LocalState:
    """What a dry run describes when no local target runs: the same operations, no addresses."""
    return LocalState(
        path=state_dir, supervisor_url="http://<supervisor>", supervisor_pid=None,
        gateway_url="http://<gateway>", prometheus_url=None,
        proxy_urls={s: f"http://<proxy:{s}>" for s in SERVICES},
        proxy_control_urls={**{s: f"http://<proxy-control:{s}>" for s in SERVICES},
                            "postgres": "http://<proxy-control:postgres>"},
        replicas={}, postgres_pid=None, raw={"placeholder": True},
    )


# ---------------------------------------------------------------------- /status parsing


def _service_status(status: dict[str, Any], service: str) -> tuple[int, int] | None:
    """(ready, desired) of one service from the supervisor's ``GET /status``."""
    services = status.get("services") or {}
    if isinstance(services, list):
        services = {s.get("name"): s for s in services if isinstance(s, dict)}
    entry = services.get(service)
    if not isinstance(entry, dict):
        return None
    replicas = entry.get("replicas")
    desired = entry.get("desired", entry.get("replicas_desired"))
    ready = entry.get("ready", entry.get("replicas_ready"))
    if isinstance(replicas, list):
        if desired is None:
            desired = len(replicas)
        if ready is None:
            ready = sum(1 for r in replicas if isinstance(r, dict) and _replica_ready(r))
    elif isinstance(replicas, int) and desired is None:
        desired = replicas
    if not isinstance(ready, int) or not isinstance(desired, int):
        return None
    return ready, desired


def _replica_ready(replica: dict[str, Any]) -> bool:
    if "ready" in replica:
        return bool(replica["ready"])
    return str(replica.get("state", replica.get("status", ""))).lower() in ("ready", "running")


def _database_up(status: dict[str, Any]) -> bool:
    db = status.get("database", status.get("postgres"))
    if isinstance(db, bool):
        return db
    if isinstance(db, dict):
        for key in ("up", "running", "ready"):
            if key in db:
                return bool(db[key])
        return str(db.get("state", db.get("status", ""))).lower() in ("up", "running", "ready")
    return False
