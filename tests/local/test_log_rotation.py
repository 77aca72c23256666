"""The local target's logs stay bounded: copy-truncate rotation of STATE/logs.

Real writers throughout: a child started with ``spawn()`` (as every replica,
the proxy process and Prometheus are), PostgreSQL writing through ``pg_ctl -l``,
and the session's target, whose supervisor rotates its own logs.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tradestorm.local.postgres import PostgresServer, pg_bin_dir
from tradestorm.local.processes import log_tail, rotated_log, spawn
from tradestorm.local.supervisor.logs import (
    DEFAULT_MAX_BYTES,
    LogRotator,
    RotationPolicy,
    parse_size,
    rotate,
)
from tradestorm.local.supervisor.replicas import Replica

LINE = re.compile(rb"(\d{8}) x+")


def _wait_until(predicate, timeout_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _appends(pid: int, fd: int) -> bool:
    """Whether ``fd`` of process ``pid`` was opened with O_APPEND."""
    flags = Path(f"/proc/{pid}/fdinfo/{fd}").read_text().split("flags:", 1)[1].split()[0]
    return bool(int(flags, 8) & os.O_APPEND)


def _numbers(path: Path) -> list[int]:
    data = path.read_bytes()
    assert b"\0" not in data, f"{path.name} has NUL bytes: something wrote into a hole"
    lines = data.splitlines()
    assert all(LINE.fullmatch(line) for line in lines), f"{path.name} has a torn line"
    return [int(LINE.fullmatch(line).group(1)) for line in lines]  # type: ignore[union-attr]


def test_a_busy_log_stays_bounded_and_keeps_its_newest_lines(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    log_file = logs / "orders-0.log"
    total = 6000  # 100-byte lines at about 200 kB/s: several rotations of 64 KiB
    writer = spawn([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        for i in range({total}):
            sys.stdout.write(f"{{i:08d}} " + "x" * 91 + "\\n")
            sys.stdout.flush()
            time.sleep(0.0005)
    """)], log_file=log_file)
    assert _appends(writer.pid, 1) and _appends(writer.pid, 2)
    policy = RotationPolicy(max_bytes=64 * 1024, keep=3, interval_s=0.1)
    rotator = LogRotator(logs, policy)
    largest = 0

    async def rotate_while_it_writes() -> int:
        task = asyncio.create_task(rotator.run())
        biggest = 0
        while writer.poll() is None:
            biggest = max(biggest, log_file.stat().st_size)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # one more pass after the last line
        task.cancel()
        return biggest

    try:
        largest = asyncio.run(rotate_while_it_writes())
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == 0

    assert rotator.generation(log_file) >= 4
    # never much beyond the bound: a check interval's worth of lines (0.1 s, ~20 kB), with
    # room for a busy machine delaying the rotator's thread by up to ~0.6 s
    assert largest <= 3 * policy.max_bytes, largest
    assert log_file.stat().st_size <= 3 * policy.max_bytes
    generations = [log_file] + [rotated_log(log_file, n) for n in (1, 2, 3)]
    assert all(p.exists() for p in generations)
    assert not rotated_log(log_file, 4).exists(), "only `keep` rotated copies are kept"
    numbers = [_numbers(p) for p in generations]  # and no NUL bytes, no torn lines
    if not numbers[0]:  # a rotation right after the last line (a busy machine): NAME.log
        numbers = numbers[1:]  # is empty and the newest lines are all in .1
    # the newest lines are in NAME.log, older ones in .1, older still in .2, .3
    assert numbers[0][-1] == total - 1
    for newer, older in zip(numbers, numbers[1:], strict=False):
        assert older and newer and max(older) < min(newer)
    for part in numbers:
        assert part == sorted(part)
    # copy-truncate can lose what is written between the copy and the truncation,
    # a line or so per rotation, never more
    kept = sorted(n for part in numbers for n in part)
    missing = (kept[-1] - kept[0] + 1) - len(kept)
    assert missing <= rotator.generation(log_file), missing


def test_logs_under_the_bound_are_left_alone_and_zero_turns_rotation_off(
        tmp_path: Path) -> None:
    small = tmp_path / "proxy.log"
    small.write_bytes(b"a" * 100)
    other = tmp_path / "notes.txt"
    other.write_bytes(b"b" * 5000)
    assert LogRotator(tmp_path, RotationPolicy(max_bytes=1000)).check() == []
    big = tmp_path / "prometheus.log"
    big.write_bytes(b"c" * 5000)
    assert LogRotator(tmp_path, RotationPolicy(max_bytes=0)).check() == []
    assert LogRotator(tmp_path, RotationPolicy(max_bytes=1000)).check() == [big]
    assert small.read_bytes() == b"a" * 100 and other.stat().st_size == 5000
    assert big.stat().st_size == 0 and rotated_log(big, 1).stat().st_size == 5000


def test_the_bound_is_configured_from_the_environment() -> None:
    assert RotationPolicy.from_env({}) == RotationPolicy(max_bytes=DEFAULT_MAX_BYTES, keep=3)
    policy = RotationPolicy.from_env({"TRADESTORM_LOG_MAX_BYTES": "8MiB",
                                      "TRADESTORM_LOG_KEEP": "5"})
    assert (policy.max_bytes, policy.keep) == (8 * 1024 * 1024, 5)
    assert parse_size("512k") == 512 * 1024 and parse_size("1000") == 1000
    assert parse_size("2G") == 2 * 1024**3 and parse_size("50 MB") == 50 * 1024**2
    with pytest.raises(ValueError, match="TRADESTORM_LOG_MAX_BYTES"):
        RotationPolicy.from_env({"TRADESTORM_LOG_MAX_BYTES": "fifty"})
    with pytest.raises(ValueError, match="TRADESTORM_LOG_KEEP"):
        RotationPolicy.from_env({"TRADESTORM_LOG_KEEP": "0"})


def test_the_supervisor_refuses_a_malformed_bound_naming_the_variable(tmp_path: Path) -> None:
    env = dict(os.environ, TRADESTORM_LOG_MAX_BYTES="lots")
    proc = subprocess.run(
        [sys.executable, "-m", "tradestorm.local.supervisor", "--state-dir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "TRADESTORM_LOG_MAX_BYTES" in proc.stderr
    assert not (tmp_path / "state.json").exists()


class _Scripted(Replica):
    """A replica whose process is a script instead of a platform service."""

    script: str = ""

    def argv(self) -> list[str]:
        return [sys.executable, "-c", self.script]


def test_a_crashed_replicas_last_lines_survive_rotations(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log_file = logs / "orders-0.log"
    # what an earlier start of the replica said: not this start's business
    log_file.write_bytes(b"earlier start: OSError: address already in use\n" * 20)
    go = tmp_path / "go"
    rotator = LogRotator(logs, RotationPolicy(max_bytes=4096, keep=3))
    replica = _Scripted("orders", 0, 1, log_file, log_rotations=rotator.generation)
    replica.script = textwrap.dedent(f"""
        import os, sys, time
        for i in range(100):
            print(f"noise before {{i:03d}} " + "n" * 40, flush=True)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.01)
        for i in range(100):
            print(f"noise after {{i:03d}} " + "n" * 40, flush=True)
        print("ERROR: [Errno 98] error while attempting to bind: address already in use",
              flush=True)
        print("FATAL: orders-0 cannot start", flush=True)
        sys.exit(3)
    """)
    replica.start({"PATH": os.environ.get("PATH", "")})
    _wait_until(lambda: b"noise before 099" in log_file.read_bytes(), what="the first lines")
    assert rotator.check() == [log_file]  # rotated while the replica runs
    go.touch()
    assert replica.process is not None
    replica.process.wait(timeout=20)
    assert rotator.check() == [log_file]  # and again right after it crashed
    assert log_file.stat().st_size == 0  # its last lines are all in NAME.log.1 now

    assert replica.reap(time.time())
    assert replica.last_exit == 3
    assert replica.last_lines(1) == "FATAL: orders-0 cannot start"
    assert replica.bind_conflict  # the crash is recognised as a port taken
    output = replica.output_since_start()
    assert output.startswith(b"noise before 000")  # exactly this start's output...
    assert b"earlier start" not in output  # ...and nothing of the one before
    assert b"noise after 099" in output and b"\0" not in output
    # the generic tail (used for the supervisor's and helpers' start errors) reaches back too
    assert log_tail(log_file, 1) == "FATAL: orders-0 cannot start"


def test_a_replica_log_truncated_by_someone_else_is_still_read_from_this_start(
        tmp_path: Path) -> None:
    log_file = tmp_path / "risk-1.log"
    log_file.write_bytes(b"old line\n" * 500)
    replica = _Scripted("risk", 1, 1, log_file)
    replica.script = "print('bind failed: address already in use'); raise SystemExit(1)"
    replica.start({"PATH": os.environ.get("PATH", "")})
    assert replica.process is not None
    replica.process.wait(timeout=20)
    rotate(log_file, keep=1)  # e.g. an outside copy-truncate the supervisor knows nothing of
    assert replica.reap(time.time()) and replica.bind_conflict
    assert replica.last_lines(1) == "bind failed: address already in use"


def test_postgres_appends_to_its_log_so_a_rotation_leaves_no_hole(
        postgres_server: PostgresServer) -> None:
    pid = postgres_server.pid()
    assert pid is not None
    assert _appends(pid, 2), "pg_ctl -l must give the postmaster an O_APPEND log"
    log_file = postgres_server.log_file
    with open(log_file, "ab") as fh:  # enough for the postmaster's offset to be far out
        fh.write(b"filler\n" * 10_000)
    rotate(log_file, keep=1)
    marker = f"no_such_table_{os.getpid()}"
    subprocess.run([str(pg_bin_dir() / "psql"), postgres_server.admin_dsn, "-c",
                    f"SELECT * FROM {marker}"], capture_output=True, timeout=30)
    _wait_until(lambda: marker.encode() in log_file.read_bytes(), what="the error in the log")
    data = log_file.read_bytes()
    assert b"\0" not in data and len(data) < 10_000
    assert b"filler" in rotated_log(log_file, 1).read_bytes()


@pytest.mark.timeout(120)
def test_the_running_target_rotates_its_logs(local_target) -> None:
    logs = local_target.state_dir / "logs"
    # every writer of STATE/logs appends: a truncation never leaves a hole
    writers = set()
    for proc in local_target.live_processes():
        try:
            for fd in (1, 2):
                path = os.readlink(f"/proc/{proc.pid}/fd/{fd}")
                if path.startswith(str(logs)):
                    assert _appends(proc.pid, fd), f"{proc.cmdline()} fd {fd} -> {path}"
                    writers.add(Path(path).name)
        except (OSError, psutil.Error):
            continue  # gone meanwhile (a backend that ended)
    assert {"supervisor.log", "postgres.log", "proxy.log", "prometheus.log",
            "orders-0.log", "gateway-1.log"} <= writers, writers
    # the supervisor rotates PostgreSQL's log once it passes the default bound
    log_file = logs / "postgres.log"
    with open(log_file, "ab") as fh:
        for _ in range(DEFAULT_MAX_BYTES // (1024 * 1024) + 1):
            fh.write(b"soak filler " * (1024 * 1024 // 12) + b"\n")
    try:
        _wait_until(lambda: rotated_log(log_file, 1).exists()
                    and log_file.stat().st_size < DEFAULT_MAX_BYTES, timeout_s=30,
                    what="the supervisor to rotate postgres.log")
        marker = f"no_such_table_{os.getpid()}"
        subprocess.run([str(pg_bin_dir() / "psql"), local_target.dsn, "-c",
                        f"SELECT * FROM {marker}"], capture_output=True, timeout=30)
        _wait_until(lambda: marker.encode() in log_file.read_bytes(), what="the new error")
        data = log_file.read_bytes()
        assert b"\0" not in data and len(data) < DEFAULT_MAX_BYTES
        assert not data.startswith(b"soak filler")
    finally:
        rotated_log(log_file, 1).unlink(missing_ok=True)  # 50 MiB of filler
