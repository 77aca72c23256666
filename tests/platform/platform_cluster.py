"""Run tradeplat services as real processes on 127.0.0.1 and free ports.

Used by the process-level tests and by ``benchmarks/bench_platform.py``.
Every process started here is stopped by ``Cluster.stop`` (SIGTERM, then
SIGKILL after a grace period), also when a test fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ALL_SERVICES = ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    service: str
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Cluster:
    dsn: str
    workdir: Path
    replicas_per_service: Mapping[str, int] = field(
        default_factory=lambda: {s: 1 for s in ALL_SERVICES}
    )
    admin_key: str = "test-admin-key"
    log_level: str = "WARNING"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    replicas: dict[str, list[Replica]] = field(default_factory=dict)
    _ports: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for service, count in self.replicas_per_service.items():
            self._ports[service] = [free_port() for _ in range(count)]
        self.replicas = {service: [] for service in self.replicas_per_service}

    def url(self, service: str, index: int = 0) -> str:
        return f"http://127.0.0.1:{self._ports[service][index]}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPLAT_")}
        env.update(
            TRADEPLAT_DATABASE_URL=self.dsn,
            TRADEPLAT_ADMIN_KEY=self.admin_key,
            TRADEPLAT_LOG_LEVEL=self.log_level,
        )
        for service in ALL_SERVICES:
            if service in self._ports:
                env[f"TRADEPLAT_{service.upper()}_URL"] = self.url(service)
            else:  # a service not started: point at a closed port (connection refused)
                env[f"TRADEPLAT_{service.upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
        env.update(self.extra_env)
        return env

    def add_replica(self, service: str) -> Replica:
        """Start one more replica of ``service`` on a new port (not behind any URL)."""
        self._ports.setdefault(service, []).append(free_port())
        self.replicas.setdefault(service, [])
        return self.start_replica(service, len(self._ports[service]) - 1)

    def start_replica(self, service: str, index: int = 0) -> Replica:
        port = self._ports[service][index]
        name = f"{service}-{index}"
        log_path = self.workdir / f"{name}.log"
        env = self.env()
        env["TRADEPLAT_REPLICA"] = name
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tradeplat", service, "--host", "127.0.0.1",
                 "--port", str(port)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        replica = Replica(service, name, port, process, log_path)
        self.replicas[service] = [r for r in self.replicas[service] if r.name != name] + [replica]
        return replica

    def start(self, services: Iterable[str] | None = None, *, wait: bool = True,
              timeout_s: float = 60) -> Cluster:
        for service in services or self.replicas_per_service:
            for index in range(self.replicas_per_service[service]):
                self.start_replica(service, index)
        if wait:
            self.wait_ready(timeout_s=timeout_s)
        return self

    def all_replicas(self) -> list[Replica]:
        return [r for rs in self.replicas.values() for r in rs]

    def wait_ready(self, replicas: Iterable[Replica] | None = None, timeout_s: float = 60) -> None:
        pending = list(replicas or self.all_replicas())
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2) as client:
            while pending:
                for replica in list(pending):
                    if replica.process.poll() is not None:
                        raise RuntimeError(
                            f"{replica.name} exited with {replica.process.returncode}:\n"
                            f"{replica.log_text()[-3000:]}"
                        )
                    try:
                        if client.get(replica.url + "/readyz").status_code == 200:
                            pending.remove(replica)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    names = ", ".join(r.name for r in pending)
                    raise TimeoutError(f"not ready after {timeout_s}s: {names}")
                if pending:
                    time.sleep(0.1)

    def stop_replica(self, replica: Replica, sig: int = signal.SIGTERM,
                     timeout_s: float = 15) -> int:
        if replica.process.poll() is None:
            replica.process.send_signal(sig)
            try:
                replica.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait(timeout=10)
        return int(replica.process.returncode)

    def stop(self) -> None:
        for replica in self.all_replicas():
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for replica in self.all_replicas():
            try:
                replica.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait(timeout=10)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
