"""The state one chaos run shares between its activities.

Chaos Toolkit calls each action and probe as a plain function; what they
share for the length of a run lives in a ``RunSession``: the fault ledger,
the abort event (set on SIGINT/SIGTERM so that a fault held in a background
thread is released at once), the allow-lists given by whoever started the run,
dry-run mode with its printer, and the drivers already built.

``run_experiment`` installs a fresh session for each run; an activity called
outside it (plain ``chaos run``) gets a default session whose allow-lists come
from the environment only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tradestorm_chaos.allowlist import allowed_contexts, allowed_namespaces
from tradestorm_chaos.errors import ChaosError
from tradestorm_chaos.ledger import FaultLedger


class Interrupted(ChaosError):
    """The run was interrupted (SIGINT/SIGTERM) while an activity waited."""


def _print(line: str) -> None:
    print(line, flush=True)


@dataclass
class RunSession:
    allowed_contexts: list[str] = field(default_factory=list)
    allowed_namespaces: list[str] = field(default_factory=list)
    dry_run: bool = False
    say: Callable[[str], None] = _print
    ledger: FaultLedger = field(default_factory=FaultLedger)
    abort: threading.Event = field(default_factory=threading.Event)
    drivers: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    planned: list[str] = field(default_factory=list)  # dry-run: what would have been done
    lock: threading.RLock = field(default_factory=threading.RLock)
    # set by the run's InterruptGuard: stops the run from another thread (``stop_current_run``)
    stopper: Callable[[str], bool] | None = None

    def plan(self, line: str) -> None:
        """Dry run: record and print one operation that a real run would perform."""
        with self.lock:
            self.planned.append(line)
        self.say(f"[dry-run] would {line}")

    def hold(self, seconds: float) -> None:
        """Keep a fault in place for ``seconds``; raise ``Interrupted`` as soon as the run aborts.

        In dry-run mode nothing is held.
        """
        if self.dry_run or seconds <= 0:
            return
        if self.abort.wait(timeout=seconds):
            raise Interrupted("the run was interrupted while a fault was held")

    def check_not_aborted(self) -> None:
        if self.abort.is_set():
            raise Interrupted("the run was interrupted; no new fault is injected")


_current: RunSession | None = None
_current_lock = threading.Lock()


def new_session(
    *,
    allowed_contexts_: Sequence[str] = (),
    allowed_namespaces_: Sequence[str] = (),
    dry_run: bool = False,
    say: Callable[[str], None] | None = None,
) -> RunSession:
    """Build and install the session of a new run (allow-lists merged with the environment)."""
    global _current
    session = RunSession(
        allowed_contexts=allowed_contexts(allowed_contexts_),
        allowed_namespaces=allowed_namespaces(allowed_namespaces_),
        dry_run=dry_run,
        say=say or _print,
    )
    with _current_lock:
        _current = session
    return session


def end_session(session: RunSession) -> None:
    global _current
    with _current_lock:
        if _current is session:
            _current = None


def stop_current_run(reason: str) -> bool:
    """Stop the running experiment from any thread, as SIGINT would: the held fault is
    released at once and the rollbacks run; the outcome is ``interrupted`` with
    ``stop_reason`` set. False when no run is in progress (or it is already cleaning up)."""
    with _current_lock:
        session = _current
        stopper = session.stopper if session is not None else None
    return stopper(reason) if stopper is not None else False


def current_session() -> RunSession:
    """The running session, or a default one (environment allow-lists, not dry)."""
    global _current
    with _current_lock:
        if _current is None:
            _current = RunSession(allowed_contexts=allowed_contexts(),
                                  allowed_namespaces=allowed_namespaces())
        return _current
