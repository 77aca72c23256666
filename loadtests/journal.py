"""The order journal: what this load process submitted and what the platform acknowledged.

One JSON-lines file per load process start (``orders-<host>-<pid>-<token>.jsonl``; the
random token keeps a restarted container with the same hostname and pid apart). Records:

``start``   ``{"kind", "t", "run_id", "pid", "host", "journal" (the file name), "schema",
            "profile", "seed", "accounts"}`` (the first line)
``submit``  the intent, written before the first attempt: ``{"kind", "t", "client_order_id",
            "account_id", "symbol", "side", "type", "quantity", "price"}``
``ack``     an order the platform acknowledged (HTTP 200/201): the submitted fields plus
            ``"order_id", "status", "filled_quantity", "http_status", "replayed", "attempts"``
``cancel``  an acknowledged cancel: ``{"kind", "t", "order_id", "account_id", "status"}``
``end``     ``{"kind", "t", "submitted", "acknowledged"}`` on a clean shutdown (last line)

``t`` is Unix seconds. Records are buffered and written to the file (handed to the
operating system) at least every ``flush_interval_s`` (0.5 s) by a background
greenlet, so a crash of the load generator loses at most the last interval;
``close()`` writes the rest and fsyncs. What the operating system holds survives
the process; to survive a crash of the machine as well, ``fsync=True`` (the
``--journal-fsync`` option) also fsyncs at every interval, in an OS thread so a
slow disk does not stall the users. It is off by default: its kernel time was a
sixth of the instrumentation's cost per order (``benchmarks/bench_load.py``).
A missing ``end`` line tells the reader that the process did not stop cleanly.

With ``forward`` (a Locust worker with ``--journal-to-master``) there is no local
file: every flush hands the buffered lines to ``forward`` as one message
``{"file", "seq", "lines", "end"}`` (:mod:`loadtests.forwarding` sends it to the
master, which appends ``lines`` to ``<journal-dir>/<file>``); ``end`` is true on
the message that carries the ``end`` record.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from json.encoder import encode_basestring_ascii as _quote  # C: what json.dumps writes
from pathlib import Path
from typing import Any

from loadtests.errors import JournalError

SCHEMA = 1
# one encoder for every record (json.dumps builds one per call); records hold no cycles
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
NAME = re.compile(r"orders-[A-Za-z0-9._-]{1,200}\.jsonl")  # what a journal file may be called


def journal_name(host: str, pid: int, token: str) -> str:
    """``orders-<host>-<pid>-<token>.jsonl``, the host reduced to ``[A-Za-z0-9._-]``."""
    return f"orders-{_UNSAFE.sub('_', host)[:100] or 'host'}-{pid}-{token}.jsonl"


def _json(value: Any) -> str:
    """``value`` as JSON, the common cases (a string, an int, null) without an encoder pass."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return repr(value)
    if value is None:
        return "null"
    return _encode(value)


class OrderJournal:
    """Append-only JSON-lines journal of one load process."""

    def __init__(
        self,
        directory: Path,
        *,
        run_id: str,
        flush_interval_s: float = 0.5,
        meta: dict[str, Any] | None = None,
        forward: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.run_id = run_id
        self.flush_interval_s = flush_interval_s
        self.pid = os.getpid()
        host = socket.gethostname() or "host"
        self.name = journal_name(host, self.pid, secrets.token_hex(3))
        self.path = self.directory / self.name  # with ``forward``: where the master writes it
        self._forward = forward
        self._seq = 0  # messages forwarded
        self._file: Any = None
        if forward is None:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - see close()
            except OSError as exc:
                raise JournalError(
                    f"{self.path}: cannot open the order journal: {exc.strerror}"
                ) from exc
        self._buffer: list[str] = []
        self._flusher: Any = None
        self._closed = False  # no more records
        self._finished = False  # everything written (or forwarded), the file closed
        self.submitted = 0
        self.acknowledged = 0
        self._append(
            {
                "kind": "start",
                "t": time.time(),
                "run_id": run_id,
                "pid": self.pid,
                "host": host,
                "journal": self.name,
                "schema": SCHEMA,
                **(meta or {}),
            }
        )
        self.flush()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called (the ``end`` record is written)."""
        return self._closed

    # -- records ---------------------------------------------------------
    def _append(self, record: dict[str, Any]) -> None:
        if self._closed:
            raise JournalError(f"{self.path}: journal already closed")
        self._buffer.append(_encode(record) + "\n")

    def submitted_order(self, intent: dict[str, Any]) -> str:
        """Record the intent to submit an order (before the first attempt).

        Returns the intent's encoded fields; pass them to :meth:`acknowledged_order`
        so the hot path encodes the intent once.
        """
        fields = _encode(intent)[1:-1]
        self.submitted_fields(fields)
        return fields

    def submitted_fields(self, fields: str) -> None:
        """:meth:`submitted_order` for an intent already encoded (its JSON members
        without the braces, as ``OrderIntent.encoded`` gives them)."""
        if self._closed:
            raise JournalError(f"{self.path}: journal already closed")
        self.submitted += 1
        self._buffer.append(f'{{"kind":"submit","t":{time.time()!r},{fields}}}\n')

    def acknowledged_order(
        self,
        intent: dict[str, Any] | None,
        order: dict[str, Any],
        *,
        http_status: int,
        replayed: bool,
        attempts: int,
        fields: str | None = None,
    ) -> None:
        """Record an order the platform acknowledged (HTTP 200 or 201): what was
        submitted (``fields`` from :meth:`submitted_order`, else ``intent``) and the answer."""
        if self._closed:
            raise JournalError(f"{self.path}: journal already closed")
        self.acknowledged += 1
        if fields is None:
            if intent is None:
                raise ValueError("acknowledged_order needs the intent or its encoded fields")
            fields = _encode(intent)[1:-1]
        get = order.get
        self._buffer.append(
            f'{{"kind":"ack","t":{time.time()!r},{fields},"order_id":{_json(get("order_id"))},'
            f'"status":{_json(get("status"))},"filled_quantity":{_json(get("filled_quantity"))},'
            f'"http_status":{int(http_status)!r},"replayed":{"true" if replayed else "false"},'
            f'"attempts":{int(attempts)!r}}}\n'
        )

    def canceled_order(self, order: dict[str, Any]) -> None:
        self._append(
            {
                "kind": "cancel",
                "t": time.time(),
                "order_id": order.get("order_id"),
                "account_id": order.get("account_id"),
                "status": order.get("status"),
                "filled_quantity": order.get("filled_quantity"),
            }
        )

    # -- durability ------------------------------------------------------
    def flush(self, fsync: Callable[[int], None] | None = os.fsync) -> None:
        """Write and flush whatever is buffered (a process crash loses nothing after this),
        then ``fsync`` it unless ``fsync`` is None (a machine crash neither)."""
        if not self._buffer or self._finished:
            return
        lines, self._buffer = self._buffer, []
        if self._forward is not None:
            message = {"file": self.name, "seq": self._seq, "lines": "".join(lines),
                       "end": self._closed}
            try:
                self._forward(message)
            except Exception as exc:  # the transport's own errors (zmq, Locust's RPCError)
                self._buffer[:0] = lines
                raise JournalError(
                    f"{self.name}: cannot forward the order journal to the master: {exc}"
                ) from exc
            self._seq += 1
            return
        try:
            self._file.write("".join(lines))
            self._file.flush()
            if fsync is not None:
                fsync(self._file.fileno())
        except OSError as exc:
            self._buffer[:0] = lines
            raise JournalError(
                f"{self.path}: cannot write the order journal: {exc.strerror}"
            ) from exc

    def start_flusher(self, *, fsync: bool = False) -> None:
        """Flush every ``flush_interval_s`` in a background greenlet (and fsync, if asked)."""
        import gevent

        pool = gevent.get_hub().threadpool

        def fsync_in_thread(fd: int) -> None:
            # fsync blocks for milliseconds on a busy disk: in an OS thread the users keep going
            pool.apply(os.fsync, (fd,))

        def loop() -> None:
            while not self._closed:
                gevent.sleep(self.flush_interval_s)
                try:
                    self.flush(fsync_in_thread if fsync else None)
                except JournalError:
                    log.exception("order journal flush failed; retrying")

        if self._flusher is None:
            self._flusher = gevent.spawn(loop)

    def close(self) -> None:
        """Write the ``end`` record, flush (or forward) everything and close the file
        (idempotent)."""
        if self._closed:
            return
        self._append(
            {
                "kind": "end",
                "t": time.time(),
                "submitted": self.submitted,
                "acknowledged": self.acknowledged,
            }
        )
        self._closed = True
        if self._flusher is not None:
            self._flusher.kill(block=False)
        try:
            self.flush()
        finally:
            self._finished = True
            if self._file is not None:
                self._file.close()
