"""What the supervisor knows of its target, and what it tells of it.

The parts it runs (PostgreSQL, the proxy process, Prometheus, the replicas) and
where they listen are filled in by the bring-up, watched by the monitor and
stopped by the supervisor; ``phase`` and ``step`` say how far the start is.
``state()`` is ``STATE/state.json`` (``save()`` writes it) and ``status_view()``
the control API's ``GET /status``.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradestorm.local import prometheus as prom
from tradestorm.local.processes import ProcessRecord
from tradestorm.local.state import SCHEMA, StateLayout, write_json_atomic
from tradestorm.local.supervisor.database import Database
from tradestorm.local.supervisor.helpers import Helper
from tradestorm.local.supervisor.logs import RotationPolicy
from tradestorm.local.supervisor.replicas import Replica
from tradestorm.local.topology import DATABASE_NAME, SERVICES


@dataclass(frozen=True)
class SupervisorOptions:
    state_dir: Path
    replicas: int = 2
    fresh: bool = False
    accounts: int = 20
    start_timeout_s: float = 120.0
    target_id: str | None = None
    log_rotation: RotationPolicy = RotationPolicy()


class Parts:
    """The target of one supervisor: its processes, their addresses, its phase."""

    def __init__(self, options: SupervisorOptions, target_id: str) -> None:
        self.layout = StateLayout(options.state_dir)
        self.replicas_desired = options.replicas
        self.admin_key = secrets.token_urlsafe(24)
        self.target_id = target_id
        self.phase = "starting"
        self.step = ""  # what `starting` is busy with, for `tradestorm up` to show
        self.error: str | None = None
        self.started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.control_url = ""
        self.database = Database(self.layout, self.save)
        self.proxy: Helper | None = None
        self.proxy_ports: dict[str, Any] = {}
        self.prometheus: Helper | None = None
        self.prometheus_url = ""
        self.replicas: dict[str, list[Replica]] = {}
        self.replica_env: dict[str, str] = {}

    @property
    def proxy_dsn(self) -> str:
        pg = self.proxy_ports.get("postgres")
        if not pg:
            return ""
        return f"postgresql://postgres@{pg['listen']}/{DATABASE_NAME}"

    def write_prometheus_config(self) -> None:
        """What Prometheus scrapes: the replicas, the supervisor and the proxies."""
        config = prom.render_config(
            replicas={s: [(r.name, r.address) for r in rs] for s, rs in self.replicas.items()},
            supervisor=self.control_url.removeprefix("http://"),
            proxies={name: p["control_url"].removeprefix("http://")
                     for name, p in self.proxy_ports.items()},
            targets_dir=self.layout.prometheus_targets,
            rules=prom.rule_files(),
        )
        prom.write_config(self.layout.prometheus_config, config)

    # ------------------------------------------------------------------ views
    def state(self) -> dict[str, Any]:
        svc_state: dict[str, Any] = {}
        for service in SERVICES:
            proxy = self.proxy_ports.get(service, {})
            svc_state[service] = {
                "proxy_url": f"http://{proxy['listen']}" if proxy else None,
                "proxy_control_url": proxy.get("control_url"),
                "replicas": [r.to_dict() for r in self.replicas.get(service, [])],
            }
        proxies = ({"postgres": self.proxy_ports["postgres"]}
                   if "postgres" in self.proxy_ports else {})
        data: dict[str, Any] = {
            "schema": SCHEMA,
            "phase": self.phase,
            "step": self.step,
            "error": self.error,
            "supervisor": {
                "pid": os.getpid(),
                "control_url": self.control_url,
                **(_self_record().to_state()),
            },
            "started_at": self.started_at,
            "target_id": self.target_id,
            "admin_key": self.admin_key,
            "replicas_desired": self.replicas_desired,
            "gateway_url": svc_state["gateway"]["proxy_url"],
            "prometheus": {
                "url": self.prometheus_url or None,
                "pid": (self.prometheus.process.pid  # type: ignore[union-attr]
                        if self.prometheus and self.prometheus.running else None),
                **(self.prometheus.to_state() if self.prometheus else {}),
            },
            "postgres": self.database.to_state(self.proxy_dsn),
            "services": svc_state,
            "proxies": proxies,
            "proxy_process": self.proxy.to_state() if self.proxy else {},
            "accounts_file": str(self.layout.accounts_file),
            "logs_dir": str(self.layout.logs),
        }
        return data

    def save(self) -> None:
        write_json_atomic(self.layout.state_file, self.state())

    def status_view(self) -> dict[str, Any]:
        services = {}
        for service in SERVICES:
            rs = self.replicas.get(service, [])
            proxy = self.proxy_ports.get(service, {})
            services[service] = {
                "desired": len(rs),
                "ready": sum(1 for r in rs if r.ready),
                "restarts": sum(r.restarts for r in rs),
                "proxy_url": f"http://{proxy['listen']}" if proxy else None,
                "proxy_control_url": proxy.get("control_url"),
                "replicas": [r.to_dict() for r in rs],
            }
        return {
            "phase": self.phase,
            "error": self.error,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "services": services,
            "database": self.database.view(self.proxy_dsn),
            "prometheus": {"url": self.prometheus_url or None,
                           **(self.prometheus.to_state() if self.prometheus else {})},
            "proxies": {"addresses": self.proxy_ports,
                        **(self.proxy.to_state() if self.proxy else {})},
        }


def _self_record() -> ProcessRecord:
    record = ProcessRecord.of(os.getpid(), "tradestorm.local.supervisor")
    assert record is not None
    return record
