"""What a run has recorded so far, and how it speaks: ``run.json``'s record (saved to the
results folder at every step), the live view and the console, the stages that failed and
whether (and when) the run was asked to stop. Every stage of a run writes through it."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from runfolder.record import PhaseRecord, RunRecord
from tradestorm.runner.progress import Progress, RunView


@dataclass
class RunState:
    record: RunRecord
    results_dir: Path
    view: RunView
    console: Console
    #: the live display while the run is on (None: lines go to the console)
    progress: Progress | None = None
    #: "stage: problem" of every stage that failed, in order
    failed_reasons: list[str] = field(default_factory=list)
    interrupted: bool = False
    #: when the first SIGINT/SIGTERM arrived (contract §4: the open phase ends there)
    signalled_at: float | None = None

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress.say(message)
        else:
            self.console.print(message, highlight=False, soft_wrap=True)

    def save(self) -> None:
        self.record.write(self.results_dir)

    def stage(self, name: str, **info: Any) -> None:
        """Add ``info`` to run.json's ``stages.<name>``."""
        self.record.stages.setdefault(name, {}).update(info)

    def fail(self, stage: str, problem: str) -> None:
        """A stage failed: recorded in run.json (stage and errors), said, and kept as a
        reason of the run's outcome."""
        message = f"{stage}: {problem}"
        self.failed_reasons.append(message)
        self.record.errors.append(message)
        self.stage(stage, ok=False, error=problem)
        self.say(f"[red]error[/red] {message}")

    def begin_phase(
        self, name: str, planned: float | None, start: float | None = None
    ) -> PhaseRecord:
        phase = PhaseRecord(name=name, start=start or time.time(), planned_seconds=planned)
        self.record.phases.append(phase)
        self.view.set_phase(name, planned, started=phase.start)
        self.save()
        return phase


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Ignore SIGINT/SIGTERM while a cleanup that must finish runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    old_term = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
