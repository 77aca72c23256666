"""Order journals forwarded from Locust workers to the master (``--journal-to-master``).

A worker pod can be restarted or deleted at any time; a journal on its disk would
go with it. With ``--journal-to-master`` a worker keeps no local journal: every
0.2 s its :class:`~loadtests.journal.OrderJournal` sends the buffered lines to the
master as a Locust custom message ``tradestorm_journal`` ``{"file", "seq",
"lines", "end"}`` and the master's :class:`JournalReceiver` appends them to
``<journal-dir>/<file>`` (flushed, and fsynced with ``--journal-fsync``). A worker
killed with SIGKILL loses at most its last 0.2 s, and its file has no ``end``
record, which reconcile reads as an unclean stop.

A worker that stops cleanly ends its journal when its users have stopped (its
``test_stop``), before it tells the master so (``client_stopped``, ``quit``):
ZeroMQ keeps the order of one connection. A headless master does not stop its
workers before quitting, though: it sends ``quit`` and gives them half a second.
So the master, at its own ``test_stop``, asks every worker whose journal is still
open to end it (``tradestorm_journal_close``: the worker stops its users and
sends its ``end`` record) and waits until every such journal has ended, or its
worker is gone (missing heartbeats, quit), or :data:`CLOSE_TIMEOUT_S` passed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from loadtests.errors import LoadtestsError
from loadtests.journal import NAME, OrderJournal

JOURNAL_MESSAGE = "tradestorm_journal"  # worker -> master: journal lines
CLOSE_MESSAGE = "tradestorm_journal_close"  # master -> worker: end your journal now
FLUSH_INTERVAL_S = 0.2
CLOSE_TIMEOUT_S = 10.0  # the master's wait for the workers' end records (plus stop_timeout)
log = logging.getLogger("tradestorm.load")


def check_message(data: Any) -> str | None:
    """Why a ``tradestorm_journal`` message is refused, or None when it is well formed."""
    if not isinstance(data, dict):
        return "not an object"
    name = data.get("file")
    if not isinstance(name, str) or NAME.fullmatch(name) is None:
        return (
            f"file name {name!r} refused (expected orders-<name>.jsonl, letters, digits, "
            "'.', '_' and '-' only, no path)"
        )
    if not isinstance(data.get("lines"), str):
        return f"{name}: 'lines' is not a string"
    seq = data.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return f"{name}: 'seq' is not an integer >= 0"
    if not isinstance(data.get("end"), bool):
        return f"{name}: 'end' is not a boolean"
    return None


@dataclass
class _Received:
    node: str  # the Locust client id of the worker that writes it
    next_seq: int = 0
    ended: bool = False
    handle: TextIO | None = None


class JournalReceiver:
    """The master's side: writes the journals its workers forward."""

    def __init__(self, directory: Path, *, fsync: bool = False) -> None:
        self.directory = Path(directory)
        self.fsync = fsync
        self._files: dict[str, _Received] = {}
        self.refused = 0  # messages ignored (malformed, or a name another worker writes)

    def install(self, environment: Any, runner: Any) -> None:
        """Register the message handler, the end-of-test wait and the closing on ``runner``."""
        runner.register_message(JOURNAL_MESSAGE, self.handle)

        def finish(**_: Any) -> None:
            self.finish(runner, CLOSE_TIMEOUT_S + float(environment.stop_timeout or 0))

        environment.events.test_stop.add_listener(finish)
        environment.events.quitting.add_listener(lambda **_: self.close())

    @property
    def files(self) -> dict[str, bool]:
        """Journal file name -> whether its ``end`` record arrived."""
        return {name: entry.ended for name, entry in self._files.items()}

    # -- messages ------------------------------------------------------------
    def handle(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        """Append one forwarded message to its journal file (Locust's message listener)."""
        node = str(getattr(msg, "node_id", None) or "?")
        data = getattr(msg, "data", None)
        problem = check_message(data)
        if problem is not None:
            self._refuse(node, problem)
            return
        name = data["file"]
        entry = self._files.get(name)
        if entry is None:
            entry = self._files[name] = _Received(node)
        elif entry.node != node:
            self._refuse(node, f"{name} is already written by worker {entry.node}")
            return
        if data["seq"] != entry.next_seq:
            log.warning(
                "order journal %s from worker %s: message %d arrived, %d expected (a message "
                "was lost or failed and is resent)", name, node, data["seq"], entry.next_seq
            )
        if entry.ended:
            log.warning("order journal %s: lines after its end record", name)
        entry.next_seq = data["seq"] + 1
        text = data["lines"]
        if text and not text.endswith("\n"):
            text += "\n"  # never glue the next message onto a partial line
        try:
            self._write(entry, name, text)
        except OSError as exc:
            log.error("order journal %s: cannot write %d bytes from worker %s: %s",
                      name, len(text), node, exc.strerror or exc)
            return
        if data["end"]:
            entry.ended = True
            self._close(entry)
            log.info("order journal %s ended (worker %s)", name, node)

    def _write(self, entry: _Received, name: str, text: str) -> None:
        if entry.handle is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            entry.handle = open(self.directory / name, "a", encoding="utf-8")  # noqa: SIM115
        entry.handle.write(text)
        entry.handle.flush()
        if self.fsync:
            _fsync(entry.handle.fileno())

    def _refuse(self, node: str, problem: str) -> None:
        self.refused += 1
        log.error("order journal message from worker %s ignored: %s", node, problem)

    # -- the end of the test ---------------------------------------------------
    def open_nodes(self, runner: Any) -> set[str]:
        """Workers still connected (not missing) whose journal has not ended."""
        from locust.runners import STATE_MISSING

        nodes = set()
        for entry in self._files.values():
            client = None if entry.ended else runner.clients.get(entry.node)
            if client is not None and client.state != STATE_MISSING:
                nodes.add(entry.node)
        return nodes

    def finish(self, runner: Any, timeout_s: float = CLOSE_TIMEOUT_S) -> set[str]:
        """Ask the workers with an open journal to end it and wait for their ``end`` records;
        returns the workers that did not answer in ``timeout_s``."""
        import gevent

        nodes = self.open_nodes(runner)
        if not nodes:
            return set()
        log.info("asking %d worker(s) to end their order journals", len(nodes))
        for node in nodes:
            try:
                runner.send_message(CLOSE_MESSAGE, None, client_id=node)
            except Exception as exc:  # Locust's RPCError and zmq's: the worker is gone
                log.warning("cannot ask worker %s to end its order journal: %s", node, exc)
        deadline = time.monotonic() + timeout_s
        while nodes and time.monotonic() < deadline:
            gevent.sleep(0.05)
            nodes = self.open_nodes(runner)
        if nodes:
            log.warning("no end record from worker(s) %s after %.0f s: their journals stay "
                        "without one", ", ".join(sorted(nodes)), timeout_s)
        return nodes

    def close(self) -> None:
        """Close every file; log those without an ``end`` record (idempotent)."""
        for entry in self._files.values():
            self._close(entry)
        unended = sorted(name for name, entry in self._files.items() if not entry.ended)
        if self._files:
            log.info("order journals from workers: %d, %d without an end record%s",
                     len(self._files), len(unended), f" ({', '.join(unended)})" if unended else "")

    @staticmethod
    def _close(entry: _Received) -> None:
        if entry.handle is not None:
            handle, entry.handle = entry.handle, None
            handle.close()


def _fsync(fd: int) -> None:
    try:
        import gevent

        gevent.get_hub().threadpool.apply(os.fsync, (fd,))  # a slow disk stalls no greenlet
    except ImportError:  # pragma: no cover - Locust always brings gevent
        os.fsync(fd)


# -- the worker's side -----------------------------------------------------------
def sender(runner: Any) -> Callable[[dict[str, Any]], None]:
    """The ``forward`` of a worker's :class:`OrderJournal`: one custom message per flush."""

    def send(data: dict[str, Any]) -> None:
        runner.send_message(JOURNAL_MESSAGE, data)

    return send


def follow_worker(
    environment: Any,
    runner: Any,
    current: Callable[[], OrderJournal | None],
    reopen: Callable[[], None],
) -> Callable[[], None]:
    """End the journal (``current()``) when the worker's users stop, open a new one
    (``reopen()``) when a later test starts, and answer the master's close request.
    Returns the function that stops the users and ends the journal (for ``quitting``)."""

    def end_journal(**_: Any) -> None:
        journal = current()
        if journal is not None and not journal.closed:
            try:
                journal.close()  # the end record goes out before client_stopped / quit
            except LoadtestsError:
                log.exception("ending the forwarded order journal failed")

    def start_journal(**_: Any) -> None:
        journal = current()
        if journal is None or journal.closed:
            reopen()

    def stop_and_end(**_: Any) -> None:
        runner.stop()  # the users first: nothing is journaled after the end record
        end_journal()

    environment.events.test_stop.add_listener(end_journal)
    environment.events.test_start.add_listener(start_journal)
    runner.register_message(CLOSE_MESSAGE, stop_and_end)
    return stop_and_end
