"""A handle on a running local target, for code (tests, the runner) that drives one.

``LocalTargetHandle`` re-reads ``state.json`` on every access (PIDs change when
replicas are restarted), exposes the addresses a client needs, and can
``heal()`` the target after an experiment broke it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from tradestorm.errors import TargetError
from tradestorm.local.processes import ProcessRecord, processes_of_target
from tradestorm.local.state import load_state, read_state_file
from tradestorm.local.target import LocalTarget


@dataclass
class LocalTargetHandle:
    target: LocalTarget

    @property
    def state_dir(self) -> Path:
        return self.target.state_dir

    @property
    def state(self) -> dict[str, Any]:
        """The current ``state.json`` (contracts §3); TargetError when nothing runs."""
        return load_state(self.state_dir)

    @property
    def gateway_url(self) -> str:
        return str(self.state["gateway_url"])

    @property
    def prometheus_url(self) -> str:
        return str(self.state["prometheus"]["url"])

    @property
    def dsn(self) -> str:
        """Direct DSN of the database (not through the proxy)."""
        return str(self.state["postgres"]["dsn"])

    @property
    def proxy_dsn(self) -> str:
        return str(self.state["postgres"]["proxy_dsn"])

    @property
    def admin_key(self) -> str:
        return str(self.state["admin_key"])

    @property
    def supervisor_url(self) -> str:
        return str(self.state["supervisor"]["control_url"])

    @property
    def accounts_file(self) -> Path:
        return Path(self.state["accounts_file"])

    def proxy_control_url(self, service: str) -> str:
        if service == "postgres":
            return str(self.state["proxies"]["postgres"]["control_url"])
        return str(self.state["services"][service]["proxy_control_url"])

    def process_records(self) -> list[ProcessRecord]:
        """Every process of the target named in ``state.json`` right now."""
        state = read_state_file(self.state_dir) or {}
        entries = [state.get("supervisor"), state.get("prometheus"), state.get("postgres"),
                   state.get("proxy_process")]
        entries += [r for svc in (state.get("services") or {}).values()
                    for r in (svc.get("replicas") or [])]
        return [r for r in (ProcessRecord.from_state(e) for e in entries) if r is not None]

    def live_processes(self) -> list[psutil.Process]:
        """Every live process of the target: recorded ones plus any carrying its id."""
        state = read_state_file(self.state_dir) or {}
        procs = {p.pid: p for p in processes_of_target(str(state.get("target_id") or ""))}
        for record in self.process_records():
            proc = record.process()
            if proc is not None:
                procs[proc.pid] = proc
        return list(procs.values())

    @staticmethod
    def _proxies_see_every_backend(control_urls: list[str]) -> bool:
        """The proxies' own health checks agree (they lag the supervisor by up to 1 s)."""
        try:
            with httpx.Client(timeout=5) as client:
                for url in control_urls:
                    backends = client.get(f"{url}/backends").json()["backends"]
                    if not all(b["healthy"] for b in backends):
                        return False
        except (httpx.HTTPError, ValueError, KeyError):
            return False
        return True

    def heal(self, timeout_s: float = 60) -> None:
        """Undo what an experiment may have left: proxy faults, a stopped database,
        missing replicas. Brings the target up again if it was taken down. Returns
        once every component is healthy and every proxy sees all its backends
        healthy; TargetError otherwise."""
        if self.target.running_supervisor() is None:
            self.target.up(wait=True, timeout_s=timeout_s)
        state = self.state
        with httpx.Client(timeout=5) as client:
            urls = [svc["proxy_control_url"] for svc in state["services"].values()]
            urls.append(state["proxies"]["postgres"]["control_url"])
            for url in urls:
                try:
                    client.delete(f"{url}/faults").raise_for_status()
                except httpx.TransportError:
                    pass  # a proxy process that is down holds no fault; the wait below tells
            db = client.get(f"{self.supervisor_url}/status").json()["database"]
            if db.get("desired") == "stopped":
                client.post(f"{self.supervisor_url}/database/start",
                            timeout=60).raise_for_status()
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.target.status()
            if status.healthy and self._proxies_see_every_backend(urls):
                return
            if time.monotonic() > deadline:
                bad = [f"{c.name}: {c.detail or 'unhealthy'}" for c in status.components
                       if not c.healthy]
                raise TargetError("local target still unhealthy after heal: " + "; ".join(bad))
            time.sleep(0.25)
