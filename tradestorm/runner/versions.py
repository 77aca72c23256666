"""Versions recorded in ``run.json``: what ran, so two runs can be compared fairly.

Python packages come from their installed metadata; Prometheus and PostgreSQL
are asked directly (the server that actually ran, not a binary on PATH), with
the local binaries as a fallback. A version that cannot be found is ``None``,
never a guess.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import platform
import re
import shutil
import subprocess

from promclient.errors import PrometheusError
from promclient.source import PrometheusSource

PACKAGES = {
    "tradestorm": "tradestorm",
    "locust": "locust",
    "chaostoolkit": "chaostoolkit",
    "chaostoolkit_lib": "chaostoolkit-lib",
}


def package_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def prometheus_version(prometheus_url: str | None, timeout_s: float = 3.0) -> str | None:
    if prometheus_url:
        try:
            with PrometheusSource(prometheus_url, timeout_s=timeout_s, workers=1) as source:
                return source.check()
        except PrometheusError:
            pass
    binary = shutil.which("prometheus")
    if binary is None:
        return None
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"version (\S+)", out.stdout + out.stderr)
    return match.group(1) if match else None


async def _server_version(dsn: str, timeout_s: float) -> str:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=timeout_s)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def postgres_version(dsn: str | None, timeout_s: float = 5.0) -> str | None:
    if dsn:
        try:
            return asyncio.run(asyncio.wait_for(_server_version(dsn, timeout_s), timeout_s + 1))
        except Exception:  # noqa: BLE001 - any failure means "ask the binary instead"
            pass
    try:
        from tradestorm.local.postgres import pg_bin_dir

        out = subprocess.run([str(pg_bin_dir() / "postgres"), "--version"],
                             capture_output=True, text=True, timeout=10)
    except Exception:  # noqa: BLE001 - no binaries: unknown, not an error of the run
        return None
    match = re.search(r"(\d+(?:\.\d+)+)", out.stdout)
    return match.group(1) if match else None


def collect_versions(prometheus_url: str | None, dsn: str | None) -> dict[str, str | None]:
    versions: dict[str, str | None] = {
        "tradestorm": package_version("tradestorm"),
        "python": platform.python_version(),
    }
    for key, distribution in PACKAGES.items():
        if key != "tradestorm":
            versions[key] = package_version(distribution)
    versions["prometheus"] = prometheus_version(prometheus_url)
    versions["postgres"] = postgres_version(dsn)
    return versions
