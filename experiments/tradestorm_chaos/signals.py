"""SIGINT/SIGTERM during a chaos run: interrupt once, then protect the cleanup.

The first SIGINT or SIGTERM sets the session's abort event (a fault held in a
background thread is released at once) and raises ``KeyboardInterrupt`` in
the main thread, which Chaos Toolkit turns into an "interrupted" run *that
still plays its rollbacks*. From then on every further signal is only
reported: a second Ctrl-C must not cut the rollbacks, the sweep or the
residue audit short. (SIGQUIT and SIGKILL still end the process; faults with
a duration then expire on their own, and the next run's pre-flight audit
reports whatever is left.)

``stop`` does the same from another thread (a guardrail of the scenario runner,
``session.stop_current_run``): it records the reason, sets the abort event and
has the main thread raise ``KeyboardInterrupt`` through this same handler.

Chaos Toolkit's own SIGTERM handler raises ``InterruptExecution``, which its
Python provider swallows as a mere failed activity: it is not installed here.
"""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from tradestorm_chaos.session import RunSession


class InterruptGuard:
    def __init__(self, session: RunSession, say: Callable[[str], None]) -> None:
        self.session = session
        self.say = say
        self.signal_name: str | None = None
        self.signalled_at: float | None = None  # wall-clock time of the first signal
        self._previous: dict[int, Any] = {}
        self._raise_on_first = True
        self._installed = False
        self.stop_reason: str | None = None  # why ``stop`` was called (not a signal)
        self._stop_pending = False
        self._lock = threading.Lock()

    @property
    def interrupted(self) -> bool:
        return self.signal_name is not None

    def _handler(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop_pending:
            self._stop_pending = False
            if self._raise_on_first:
                raise KeyboardInterrupt
            return
        name = signal.Signals(signum).name
        if self.signal_name is None:
            self.signalled_at = time.time()
            self.signal_name = name
            self.session.abort.set()
            self.say(f"{name} received: interrupting the experiment, rolling back "
                     "(further signals are ignored until the rollback is done)")
            if self._raise_on_first:
                raise KeyboardInterrupt
            return
        self.say(f"{name} received again: still rolling back, please wait")

    def stop(self, reason: str) -> bool:
        """Stop the run from another thread, as a first SIGINT would (``reason`` recorded).

        False when the run is already stopping or cleaning up (nothing more to do).
        """
        with self._lock:
            if not self._installed or not self._raise_on_first or self.signal_name is not None:
                return False
            self.signal_name = "STOP"
            self.stop_reason = reason
            self.signalled_at = time.time()
            self._stop_pending = True
            self.say(f"stopping the experiment: {reason}; rolling back")
            # the main thread raises KeyboardInterrupt through _handler; the abort event
            # wakes a fault held in session.hold at once
            _thread.interrupt_main(signal.SIGINT)
            self.session.abort.set()
            return True

    def shield(self) -> None:
        """From now on signals are recorded, never raised (cleanup in progress)."""
        with self._lock:
            self._raise_on_first = False

    def __enter__(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
            self._installed = True
            self.session.stopper = self.stop
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.stopper = None
        if self._installed:
            for sig, previous in self._previous.items():
                signal.signal(sig, previous)
            self._installed = False
