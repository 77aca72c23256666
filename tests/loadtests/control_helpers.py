"""Start ``python -m loadtests.control`` and Locust workers as real processes, and talk to
the control API (used by test_control.py and test_journal_to_master.py)."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import REPO

LOCUSTFILE = REPO / "loadtests" / "locustfile.py"
TOKEN = "test-control-token"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADESTORM_", "LOCUST_"))}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


@dataclass
class Control:
    process: subprocess.Popen[bytes]
    url: str
    results: Path
    output: Path

    def call(self, method: str, path: str, token: str | None = TOKEN) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, method=method)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def status(self) -> dict[str, Any]:
        code, body = self.call("GET", "/status")
        assert code == 200, body
        return json.loads(body)

    def wait_exited(self, timeout: float = 60.0) -> dict[str, Any]:
        return wait_for(lambda: (s := self.status())["state"] == "exited" and s, timeout, 0.2)

    def results_tar(self) -> dict[str, bytes]:
        code, body = self.call("GET", "/results.tar.gz")
        assert code == 200, body[:500]
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
            return {
                m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def terminate(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def start_control(
    tmp_path: Path,
    locust_args: list[str],
    *,
    env: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
    linger: float = 120,
) -> Control:
    results = tmp_path / "results"
    output = tmp_path / "control.out"
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "loadtests.control", "--host", "127.0.0.1", "--port", "0",
             "--results-dir", str(results), "--linger", f"{linger:g}", *extra, "--", *locust_args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_env(TRADESTORM_CONTROL_TOKEN=TOKEN) if env is None else env,
            cwd=tmp_path,
        )

    def listening() -> str | None:
        for line in output.read_text(errors="replace").splitlines():
            if line.startswith("listening "):
                return line.split()[1]
        if process.poll() is not None:
            raise AssertionError(f"control exited {process.returncode}: {output.read_text()}")
        return None

    return Control(process, wait_for(listening), results, output)


def start_worker(
    workdir: Path, master_port: int, env: dict[str, str], prefix: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """A ``locust --worker`` in its own process group (``prefix``: e.g. ``unshare ...``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / "worker.log", "wb") as out:
        return subprocess.Popen(
            # failed requests are data, not a broken worker (as the runner starts them)
            [*prefix, sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
             "--master-host", "127.0.0.1", "--master-port", str(master_port),
             "--exit-code-on-error", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
            start_new_session=True,
        )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def journal_lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]
