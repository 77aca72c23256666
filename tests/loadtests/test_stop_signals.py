"""A stop signal reaches Locust's main greenlet even when another greenlet swallows
``KeyboardInterrupt`` (what a busy Locust master's ``client_listener`` does).

Each case runs a small gevent program in a subprocess: a greenlet that keeps the CPU
busy and catches ``KeyboardInterrupt`` like Locust's ``client_listener``, the main
greenlet waiting for it, and a signal sent by the test once the program says it is
ready (the busy greenlet runs, the main greenlet waits). The first case is the
control: without the handler the signal is swallowed, which is the bug.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent("""
    from gevent import monkey; monkey.patch_all()
    import sys, time
    import gevent
    from locust.event import Events
    from loadtests.stop_signals import install_stop_signals

    mode = sys.argv[1]
    events = Events()
    if mode != "bare":
        install_stop_signals(events)
    if mode == "quitting":
        events.quitting.fire(environment=None)

    def listener():  # like locust.runners.MasterRunner.client_listener, busy with messages
        # bare: busy for 3 s without yielding, so Python's own SIGINT lands in this greenlet
        # for certain (one that lands while the hub runs goes to main: a race, not the bug);
        # with the handler the hub must run to deliver it: yield between 50 ms of work.
        # "ready" is printed inside the try: a signal handled right after the print, before
        # the try began, would kill this greenlet and reach main through the hub.
        until = time.perf_counter() + 3 if mode == "bare" else None
        announced = False
        while True:
            try:
                if not announced:
                    announced = True
                    print("ready", flush=True)  # the main greenlet waits in joinall below
                while until is None or time.perf_counter() < until:
                    started = time.perf_counter()
                    while time.perf_counter() - started < 0.05:
                        pass
                    if until is None:
                        gevent.sleep(0)
                return
            except KeyboardInterrupt:
                print("swallowed", flush=True)

    busy = gevent.spawn(listener)
    try:
        gevent.joinall([busy], timeout=5)
        print("main: still running", flush=True)
    except KeyboardInterrupt:
        print("main: stopping", flush=True)
""")


def _run(mode: str, signame: str) -> str:
    """The program's output; the signal is sent once it printed ``ready``."""
    child = subprocess.Popen([sys.executable, "-c", PROGRAM, mode], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first == "ready\n", first + (child.stderr.read() if child.stderr else "")
        child.send_signal(getattr(signal, f"SIG{signame}"))
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 0, err
    return out


def test_without_the_handler_a_busy_greenlet_swallows_ctrl_c() -> None:
    out = _run("bare", "INT")
    assert "swallowed" in out and "main: still running" in out


@pytest.mark.parametrize("signame", ["INT", "TERM"])
def test_with_the_handler_the_stop_reaches_the_main_greenlet(signame: str) -> None:
    out = _run("handler", signame)
    assert "main: stopping" in out and "swallowed" not in out


def test_a_signal_during_locusts_own_shutdown_is_ignored() -> None:
    out = _run("quitting", "INT")
    assert "main: still running" in out and "swallowed" not in out
