"""Prometheus for the local target: the generated configuration and how to run it.

Scrapes every replica (labels ``service``, ``replica``), the supervisor and
the proxies every second, plus every load generator that registers itself in
``STATE/prometheus/targets/*.json`` (file_sd). Loads the SLI recording rules
``slo/rules/common.yaml`` and ``slo/rules/local.yaml``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tradestorm.errors import ComponentError

BINARY = "prometheus"
DEBIAN_PACKAGE = "prometheus"
RULE_FILES = ("common.yaml", "local.yaml")


def find_binary(search_path: str | None = None) -> Path:
    """The ``prometheus`` binary on PATH (or ``search_path``), or a ComponentError
    naming the package to install."""
    found = shutil.which(BINARY, path=search_path)
    if not found:
        raise ComponentError(
            "prometheus",
            f"the '{BINARY}' binary is not installed; install the Debian/Ubuntu package "
            f"'{DEBIAN_PACKAGE}' (apt-get install {DEBIAN_PACKAGE}) or put a Prometheus 2.x "
            "binary on PATH",
        )
    return Path(found)


def rule_files() -> list[Path]:
    """The SLI recording rules the local target loads (slo/rules/)."""
    import slo

    rules_dir = Path(slo.__file__).parent / "rules"
    paths = [rules_dir / name for name in RULE_FILES]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ComponentError("prometheus", f"recording rules missing: {', '.join(missing)}")
    return paths


def render_config(
    *,
    replicas: Mapping[str, Sequence[tuple[str, str]]],
    supervisor: str,
    proxies: Mapping[str, str],
    targets_dir: Path,
    rules: Sequence[Path],
    interval_s: float = 1.0,
) -> dict[str, Any]:
    """The configuration as a dict.

    ``replicas``: service -> [(replica name, "host:port")]; ``supervisor``:
    "host:port" of its control API; ``proxies``: service -> "host:port" of
    each proxy's control API.
    """
    interval = f"{int(interval_s * 1000)}ms"
    replica_targets = [
        {"targets": [address], "labels": {"service": service, "replica": name}}
        for service, items in replicas.items()
        for name, address in items
    ]
    return {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
            "external_labels": {"target": "local"},
        },
        "rule_files": [str(p) for p in rules],
        "scrape_configs": [
            {"job_name": "tradeplat", "static_configs": replica_targets},
            {
                # the supervisor's samples carry their own `service` label
                "job_name": "tradestorm-supervisor",
                "honor_labels": True,
                "static_configs": [{"targets": [supervisor],
                                    "labels": {"component": "supervisor"}}],
            },
            {
                "job_name": "tradestorm-proxy",
                "honor_labels": True,
                "static_configs": [
                    {"targets": [address], "labels": {"component": "proxy", "proxy": name}}
                    for name, address in proxies.items()
                ],
            },
            {
                "job_name": "tradestorm-load",
                "honor_labels": True,
                "file_sd_configs": [
                    {"files": [str(targets_dir / "*.json")], "refresh_interval": "1s"}
                ],
            },
        ],
    }


def write_config(path: Path, config: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False))


def command(binary: Path, *, config: Path, data_dir: Path, listen: str) -> list[str]:
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=7d",
        f"--web.listen-address={listen}",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]
