"""`tradestorm up / status / down` as a user runs them, on a target of its own.

One replica per service keeps it cheap. Checks: a second `up` changes
nothing; `down` after the supervisor was SIGKILLed leaves no process (by
PID); `down` is idempotent; the exit codes of `status`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from tradestorm.local.handle import LocalTargetHandle
from tradestorm.local.processes import processes_of_target
from tradestorm.local.target import LocalTarget


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradestorm", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _alive(pid: int, create_time: float) -> bool:
    try:
        p = psutil.Process(pid)
        return (abs(p.create_time() - create_time) < 0.05
                and p.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def test_up_twice_then_down_after_the_supervisor_was_killed() -> None:
    # outside pytest's basetemp (see the local_target fixture in tests/conftest.py)
    state_dir = Path(tempfile.mkdtemp(prefix="tradestorm-lifecycle-")) / "state"
    handle = LocalTargetHandle(LocalTarget(state_dir=state_dir, replicas=1))
    try:
        r = _cli("up", "--replicas", "1", "--accounts", "2", "--state-dir", str(state_dir),
                 "--timeout", "180")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "gateway:" in r.stdout
        state = json.loads((state_dir / "state.json").read_text())
        pids = {p.pid: p.create_time() for p in handle.live_processes()}
        # supervisor, proxy, prometheus, postgres (+ its workers), 6 replicas
        assert len(pids) >= 10

        r = _cli("up", "--replicas", "3", "--state-dir", str(state_dir))
        assert r.returncode == 0, r.stderr
        assert "already runs" in r.stdout and str(state["supervisor"]["pid"]) in r.stdout
        again = json.loads((state_dir / "state.json").read_text())
        assert again["supervisor"]["pid"] == state["supervisor"]["pid"]
        assert {s: [x["pid"] for x in v["replicas"]] for s, v in again["services"].items()} == \
            {s: [x["pid"] for x in v["replicas"]] for s, v in state["services"].items()}

        r = _cli("status", "--state-dir", str(state_dir), "--json")
        assert r.returncode == 0, r.stdout
        assert json.loads(r.stdout)["healthy"] is True

        os.kill(state["supervisor"]["pid"], signal.SIGKILL)
        time.sleep(0.3)
        r = _cli("status", "--state-dir", str(state_dir))
        assert r.returncode == 1, r.stdout
        assert "tradestorm down" in r.stdout

        r = _cli("down", "--state-dir", str(state_dir))
        assert r.returncode == 0, r.stderr
        left = [pid for pid, ct in pids.items() if _alive(pid, ct)]
        assert left == [], f"processes left after down: {left}"
        assert processes_of_target(state["target_id"]) == []
        assert not (state_dir / "state.json").exists()

        r = _cli("status", "--state-dir", str(state_dir))
        assert r.returncode == 3
        r = _cli("down", "--state-dir", str(state_dir))
        assert r.returncode == 0 and "nothing to do" in r.stdout
    finally:
        handle.target.down()
        shutil.rmtree(state_dir.parent, ignore_errors=True)


def test_ctrl_c_on_a_foreground_up_takes_the_target_down() -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="tradestorm-foreground-")) / "state"
    handle = LocalTargetHandle(LocalTarget(state_dir=state_dir, replicas=1))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradestorm", "up", "--foreground", "--replicas", "1",
         "--accounts", "2", "--state-dir", str(state_dir), "--timeout", "180"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    attached = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "running in the foreground" in line:
                attached.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert attached.wait(240), "".join(lines)
        pids = {p.pid: p.create_time() for p in handle.live_processes()}
        target_id = json.loads((state_dir / "state.json").read_text())["target_id"]
        assert len(pids) >= 10
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=90)
        reader.join(10)
        out = "".join(lines)
        assert proc.returncode == 0, out
        assert "nothing left running" in out
        assert [pid for pid, ct in pids.items() if _alive(pid, ct)] == []
        assert processes_of_target(target_id) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        handle.target.down()
        shutil.rmtree(state_dir.parent, ignore_errors=True)


def test_a_start_that_fails_says_why_and_leaves_nothing() -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="tradestorm-failing-")) / "state"
    env = dict(os.environ, TRADEPLAT_DB_POOL_MAX="lots")
    try:
        before = {p.pid for p in psutil.process_iter()}
        r = subprocess.run(
            [sys.executable, "-m", "tradestorm", "up", "--replicas", "1", "--state-dir",
             str(state_dir), "--timeout", "120"],
            capture_output=True, text=True, timeout=240, env=env, stdin=subprocess.DEVNULL)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "TRADEPLAT_DB_POOL_MAX" in r.stderr
        assert not (state_dir / "state.json").exists()
        ours = [p for p in psutil.process_iter(["cmdline"]) if p.pid not in before
                and str(state_dir) in " ".join(p.info["cmdline"] or [])]
        assert ours == []
        assert _cli("status", "--state-dir", str(state_dir)).returncode == 3
    finally:
        LocalTarget(state_dir=state_dir).down()
        shutil.rmtree(state_dir.parent, ignore_errors=True)


def _processes_naming(state_dir: Path) -> list[psutil.Process]:
    """Every live process whose command line names the state folder (supervisor,
    PostgreSQL's data dir, the proxy's and Prometheus' config)."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        if p.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if str(state_dir) in " ".join(p.info["cmdline"] or []):
            found.append(p)
    return found


def test_an_up_interrupted_right_after_the_supervisor_started_leaves_nothing() -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="tradestorm-interrupted-")) / "state"
    target = LocalTarget(state_dir=state_dir, replicas=1, accounts=2)

    def ctrl_c(message: str) -> None:
        if message.startswith("supervisor started"):
            raise KeyboardInterrupt  # before the supervisor wrote any state.json

    try:
        try:
            target.up(wait=True, timeout_s=180, progress=ctrl_c)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("the interruption did not reach up()")
        # nothing is left, and nothing comes up later either
        for _ in range(2):
            assert _processes_naming(state_dir) == []
            assert not (state_dir / "state.json").exists()
            time.sleep(3)
    finally:
        for p in _processes_naming(state_dir):
            p.kill()
        target.down()
        shutil.rmtree(state_dir.parent, ignore_errors=True)


def test_down_with_a_corrupt_state_file_still_stops_everything() -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="tradestorm-corrupt-")) / "state"
    target = LocalTarget(state_dir=state_dir, replicas=1, accounts=2)
    handle = LocalTargetHandle(target)
    try:
        target.up(wait=True, timeout_s=180)
        state = json.loads((state_dir / "state.json").read_text())
        pids = {p.pid: p.create_time() for p in handle.live_processes()}
        assert len(pids) >= 10
        (state_dir / "state.json").write_text('{"schema": 1, "supervisor": {"pi')  # torn

        r = _cli("down", "--state-dir", str(state_dir))
        assert r.returncode == 0, r.stdout + r.stderr
        assert [pid for pid, ct in pids.items() if _alive(pid, ct)] == []
        assert processes_of_target(state["target_id"]) == []
        assert _processes_naming(state_dir) == []
        assert not (state_dir / "state.json").exists()
    finally:
        for p in _processes_naming(state_dir):
            p.kill()
        shutil.rmtree(state_dir.parent, ignore_errors=True)


def test_down_never_deletes_a_corrupt_state_file_it_cannot_act_on(tmp_path: Path) -> None:
    # a process of the target still writes its log there, but no supervisor can be found
    state_dir = tmp_path / "state"
    (state_dir / "logs").mkdir(parents=True)
    (state_dir / "state.json").write_text("not json at all")
    with open(state_dir / "logs" / "orders-0.log", "ab") as log:
        orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                  stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        r = _cli("down", "--state-dir", str(state_dir))
        assert r.returncode == 2, r.stdout + r.stderr
        assert "state.json" in r.stderr and "by hand" in r.stderr
        assert str(orphan.pid) in r.stderr
        assert (state_dir / "state.json").read_text() == "not json at all"
    finally:
        orphan.kill()
        orphan.wait()
