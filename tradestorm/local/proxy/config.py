"""Configuration of the proxy process, read once from a JSON file.

```json
{"host": "127.0.0.1", "ports_file": "STATE/proxy/ports.json", "health_interval_s": 1.0,
 "proxies": [{"name": "orders", "listen_port": 0, "control_port": 0, "check": "http",
              "backends": [{"name": "orders-0", "host": "127.0.0.1", "port": 8101}]}]}
```
Port 0 means "any free port"; the ports actually bound are written to
``ports_file`` once every proxy listens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradestorm.errors import InputError


@dataclass(frozen=True)
class BackendConfig:
    name: str
    host: str
    port: int


@dataclass(frozen=True)
class ProxyConfig:
    name: str
    listen_port: int
    control_port: int
    check: str
    backends: tuple[BackendConfig, ...]


@dataclass(frozen=True)
class ProxyProcessConfig:
    host: str
    ports_file: Path
    health_interval_s: float
    proxies: tuple[ProxyConfig, ...]

    @classmethod
    def load(cls, path: Path) -> ProxyProcessConfig:
        try:
            raw = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(path, "(file)", f"cannot read proxy configuration: {exc}") from exc
        return cls.parse(raw, source=str(path))

    @classmethod
    def parse(cls, raw: Any, source: str = "proxy config") -> ProxyProcessConfig:
        def need(obj: Any, key: str, typ: type | tuple[type, ...], where: str) -> Any:
            if not isinstance(obj, dict) or key not in obj:
                raise InputError(source, f"{where}{key}", "missing")
            value = obj[key]
            if not isinstance(value, typ) or isinstance(value, bool):
                raise InputError(source, f"{where}{key}", f"wrong type {type(value).__name__}")
            return value

        proxies = []
        for i, p in enumerate(need(raw, "proxies", list, "")):
            where = f"proxies[{i}]."
            check = p.get("check", "http") if isinstance(p, dict) else None
            if check not in ("http", "tcp"):
                raise InputError(source, f"{where}check", "must be 'http' or 'tcp'")
            backends = tuple(
                BackendConfig(
                    name=need(b, "name", str, f"{where}backends[{j}]."),
                    host=need(b, "host", str, f"{where}backends[{j}]."),
                    port=need(b, "port", int, f"{where}backends[{j}]."),
                )
                for j, b in enumerate(need(p, "backends", list, where))
            )
            proxies.append(ProxyConfig(
                name=need(p, "name", str, where),
                listen_port=int(p.get("listen_port", 0)),
                control_port=int(p.get("control_port", 0)),
                check=check,
                backends=backends,
            ))
        return cls(
            host=str(raw.get("host", "127.0.0.1")),
            ports_file=Path(need(raw, "ports_file", str, "")),
            health_interval_s=float(raw.get("health_interval_s", 1.0)),
            proxies=tuple(proxies),
        )
