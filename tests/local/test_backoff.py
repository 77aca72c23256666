"""Restart back-off of supervised replicas (kubelet-like CrashLoopBackOff)."""

from __future__ import annotations

import sys
from pathlib import Path

from tradestorm.local.supervisor.replicas import Replica, backoff_delay


def test_backoff_doubles_from_half_a_second_up_to_thirty() -> None:
    assert [backoff_delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(0) == 0


def test_a_crash_loop_backs_off_and_a_long_run_resets_it(tmp_path: Path) -> None:
    r = Replica("orders", 0, 1, tmp_path / "orders-0.log")
    env = {"PATH": "/usr/bin:/bin"}
    delays = []
    for _ in range(3):
        r.start(env)
        r.process.wait(10)  # no TRADEPLAT_DATABASE_URL: the replica exits at once
        assert r.reap(now=r.started_at + 1)
        delays.append(r.restart_at - (r.started_at + 1))
        assert r.state == "backoff" and not r.running and not r.bind_conflict
    assert delays == [0.5, 1.0, 2.0]
    # a replica that ran for longer than 10 s starts over at the first step
    r.start(env)
    r.process.wait(10)
    assert r.reap(now=r.started_at + 60)
    assert r.restart_at - (r.started_at + 60) == 0.5
    assert r.argv()[:3] == [sys.executable, "-m", "tradeplat"]


def test_a_replica_killed_on_request_is_replaced_at_once_and_is_not_a_crash(
        tmp_path: Path) -> None:
    """A pod kill is a deleted pod, replaced at once: killing the same replica again and
    again (an experiment run many times) never backs its restart off; a crash after it
    starts the back-off from its first step."""
    r = Replica("orders", 0, 1, tmp_path / "orders-0.log")
    env = {"PATH": "/usr/bin:/bin"}
    for _ in range(4):
        r.start(env)
        r.killed_on_request = True  # what the supervisor's kill sets before it signals
        r.process.wait(10)
        assert r.reap(now=r.started_at + 1)
        assert r.restart_at == r.started_at + 1 and r.consecutive_failures == 0
        assert not r.killed_on_request
    r.start(env)
    r.process.wait(10)  # exits by itself: a crash
    assert r.reap(now=r.started_at + 1)
    assert r.restart_at - (r.started_at + 1) == 0.5
