"""A signal at an awkward moment still gets the full wrap-up (sweep, audit, writes)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from tradestorm_chaos import execution as chaos_execution
from tradestorm_chaos.config import ChaosSettings
from tradestorm_chaos.session import end_session, new_session


class _Driver:
    def residue(self) -> list[Any]:
        return []

    def undo(self, record: Any) -> None:  # pragma: no cover - nothing is open
        pass


class _SignalAfterReturn:
    """A Chaos Toolkit runner whose run completes, then SIGINT lands as it returns."""

    config: dict[str, Any] = {}
    secrets: dict[str, Any] = {}

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def run(self, document: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        journal = dict(kwargs["journal"], status="completed", deviated=False)
        os.kill(os.getpid(), self.signum)  # delivered at the next bytecode: after the return
        return journal


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_right_after_the_experiment_still_writes_journal_and_residue(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int) -> None:
    monkeypatch.setattr(chaos_execution, "_make_chaos_runner",
                        lambda: _SignalAfterReturn(signum))
    session = new_session(dry_run=True, say=lambda _line: None)
    journal_path, residue_path = tmp_path / "chaos-journal.json", tmp_path / "residue.json"
    before = time.time()
    try:
        outcome = chaos_execution._run(
            {"title": "t", "description": "d", "method": []}, ChaosSettings(), session,
            _Driver(), journal_path, residue_path, lambda _line: None, True)
    finally:
        end_session(session)
    assert outcome.status == "interrupted" and outcome.exit_code == 130
    assert outcome.signal == signal.Signals(signum).name
    assert outcome.signalled_at is not None and before <= outcome.signalled_at <= time.time()
    journal = json.loads(journal_path.read_text())
    assert journal["tradestorm"]["status"] == "interrupted"
    assert residue_path.exists()
    # the previous handlers are back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
