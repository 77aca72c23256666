"""The HDR latency log of a load run (``latency.hlog``) and its send counts (``sends.json``).

Written by the process that plays the profile (the master, or the only process):
it merges the per-second intervals of every load process
(:mod:`loadtests.latency_shipping`) and writes them as an HdrHistogram interval
log (``hdrh.log.HistogramLogWriter``; format version 1.2, as the Java and Python
readers read it):

    #[Histogram log format version 1.2]
    #[Histogram log format version 1.2]
    #[StartTime: 1796635200.000 (seconds since epoch), 2026-12-07T09:20:00+00:00]
    #[BaseTime: 0.000 (seconds since epoch)]
    #[tradestorm latency: microseconds (Interval_Max: milliseconds), 1 s intervals, ...]
    "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
    Tag=sent.all,1796635200.000,1.000,12.345,HISTFAAAA...
    Tag=intended.all,1796635200.000,1.000,12.345,HISTFAAAA...
    Tag=sent.order-entry,1796635200.000,1.000,12.345,HISTFAAAA...

``StartTime`` is the start of the run (unix seconds); ``BaseTime`` is 0, so every
``StartTimestamp`` is absolute: the interval ``[StartTimestamp, +1 s)`` is the
unix second in which the answers arrived (``HistogramLogReader`` with
``absolute=True`` cuts at unix seconds). Values are microseconds (1 µs .. 1 h, 3 significant
digits); ``Interval_Max`` is in milliseconds. ``sent.all`` and ``intended.all``
are written for every second of the run (empty when no answer arrived), a route
class's tags when it had answers. Intervals are written about
:data:`WRITE_LAG_S` seconds after they end (workers ship once per second); a part
of an interval that arrives later still (a slow worker) is written as one more
line with the same tag and timestamp: readers add lines that share both.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from hdrh.log import HistogramLogWriter

from loadtests.latency import ALL, KINDS, Counts, Interval, merge_counts, to_histogram
from loadtests.metrics import sent_route_classes

LOG_NAME = "latency.hlog"
SENDS_NAME = "sends.json"
WRITE_LAG_S = 3.0
log = logging.getLogger("tradestorm.load")


class TaggedLogWriter(HistogramLogWriter):
    """``HistogramLogWriter`` that writes each histogram's tag (``Tag=...,``, as the Java
    writer does and ``HistogramLogReader`` reads) and a correct ``StartTime`` line."""

    def output_interval_histogram(
        self,
        histogram: Any,
        start_time_stamp_sec: float = 0,
        end_time_stamp_sec: float = 0,
        max_value_unit_ratio: float = 1000.0,
    ) -> None:
        payload = histogram.encode().decode("ascii")
        tag = histogram.get_tag()
        prefix = f"Tag={tag}," if tag else ""
        self.log.write(
            f"{prefix}{start_time_stamp_sec:.3f},{end_time_stamp_sec - start_time_stamp_sec:.3f},"
            f"{histogram.get_max_value() / max_value_unit_ratio:.3f},{payload}\n"
        )

    def output_start_time(self, start_time_msec: float) -> None:
        seconds = start_time_msec / 1000.0
        iso = datetime.fromtimestamp(seconds, UTC).isoformat()
        self.log.write(f"#[StartTime: {seconds:.3f} (seconds since epoch), {iso}]\n")


class SendCounts:
    """Sends the schedule assigned, made and dropped, per load process (cumulative)."""

    def __init__(self) -> None:
        self.by_process: dict[str, dict[str, int]] = {}

    def update(self, process: str, counts: dict[str, int]) -> None:
        self.by_process[process] = {k: int(counts.get(k, 0)) for k in
                                    ("scheduled", "sent", "dropped")}

    def total(self, key: str) -> int:
        return sum(c[key] for c in self.by_process.values())


class LatencyLog:
    """Merges intervals from the load processes and writes ``latency.hlog``."""

    def __init__(self, path: Path, *, open_model: bool, meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.open_model = open_model
        self.meta = meta
        self.sends = SendCounts()
        self._pending: dict[int, dict[tuple[str, str], Counts]] = {}
        self._written_up_to: int | None = None  # every second before it has its .all lines
        self._handle: TextIO | None = None
        self._writer: TaggedLogWriter | None = None
        self._base: int | None = None
        self._filling = False  # write empty .all intervals up to now (while a test runs)
        self.closed = False

    @property
    def started(self) -> bool:
        return self._writer is not None

    def add(self, intervals: list[Interval] | list[list[Any]]) -> None:
        """Merge intervals ``(second, kind, route class, counts)``; counts may come as
        ``[[index, count], ...]`` (how they travel in a Locust message)."""
        for second, kind, cls, counts in intervals:
            if kind not in KINDS:
                continue
            if not isinstance(counts, dict):
                counts = {int(i): int(c) for i, c in counts}
            bucket = self._pending.setdefault(int(second), {})
            merge_counts(bucket.setdefault((kind, str(cls)), {}), counts)

    def stop_filling(self) -> None:
        """The test stopped: no more empty intervals for the seconds without answers."""
        self._filling = False

    def start(self, at: float | None = None) -> None:
        """Open the file and write the header; ``at`` (unix seconds) is the log's StartTime."""
        self._filling = True
        if self._writer is not None:
            return
        self._base = int(math.floor(time.time() if at is None else at))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "w", encoding="ascii")  # noqa: SIM115 - closed in close()
        writer = TaggedLogWriter(self._handle)
        writer.output_log_format_version()
        writer.output_start_time(self._base * 1000.0)
        writer.output_base_time(0.0)  # interval timestamps are absolute unix seconds
        writer.output_comment("[tradestorm latency: microseconds (Interval_Max: milliseconds), "
                              "1 s intervals, tags sent.<class> and intended.<class>, class "
                              f"{ALL} = every route class]")
        writer.output_legend()
        self._handle.flush()
        self._writer = writer
        self._written_up_to = self._base

    def write_ready(self, now: float | None = None, *, everything: bool = False) -> None:
        """Write the seconds that ended at least :data:`WRITE_LAG_S` ago (or all of them)."""
        if self._writer is None:
            self.start(min(self._pending) if self._pending else now)
        assert self._writer is not None and self._handle is not None
        assert self._written_up_to is not None and self._base is not None
        now = time.time() if now is None else now
        limit = math.inf if everything else now - WRITE_LAG_S - 1
        ready = sorted(s for s in self._pending if s <= limit)
        last = max(ready, default=self._written_up_to - 1)
        if not everything and self._filling:
            last = max(last, int(limit))
        for second in range(self._written_up_to, last + 1):
            self._write_second(second, self._pending.pop(second, {}))
        for second in ready:  # late parts of seconds already written, or before the base
            if second in self._pending:
                self._write_second(second, self._pending.pop(second))
        self._written_up_to = max(self._written_up_to, last + 1)
        self._handle.flush()

    def _write_second(self, second: int, parts: dict[tuple[str, str], Counts]) -> None:
        assert self._writer is not None and self._base is not None
        start = float(second)
        written_all = self._written_up_to is not None and second < self._written_up_to
        for kind in KINDS:
            classes = sorted(cls for k, cls in parts if k == kind)
            together: Counts = {}
            for cls in classes:
                merge_counts(together, parts[(kind, cls)])
            if together or not written_all:
                self._output(f"{kind}.{ALL}", together, start)
            for cls in classes:
                self._output(f"{kind}.{cls}", parts[(kind, cls)], start)

    def _output(self, tag: str, counts: Counts, start: float) -> None:
        assert self._writer is not None
        histogram = to_histogram(counts)
        histogram.set_tag(tag)
        self._writer.output_interval_histogram(histogram, start, start + 1.0)

    def close(self) -> None:
        """Write what is left, close the file, write ``sends.json`` and log the counts."""
        if self.closed:
            return
        self.closed = True
        try:
            self.write_ready(everything=True)
        finally:
            if self._handle is not None:
                self._handle.close()
        summary = self.summary()
        sends_path = self.path.parent / SENDS_NAME
        tmp = sends_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, sends_path)
        if self.open_model:
            dropped = summary["dropped"]
            log.log(
                logging.WARNING if dropped else logging.INFO,
                "tradestorm load: open model: %d sends scheduled, %d sent, %d DROPPED "
                "(in-flight bound reached)%s; latency log %s",
                summary["scheduled"], summary["sent"], dropped,
                "" if not dropped else ": the platform could not keep up with the rate",
                self.path,
            )
        else:
            log.info("tradestorm load: closed model; latency log %s", self.path)

    def summary(self) -> dict[str, Any]:
        """What ``sends.json`` holds."""
        doc: dict[str, Any] = {"model": "open" if self.open_model else "closed", **self.meta,
                               "route_classes": sent_route_classes(self.open_model),
                               "latency_log": self.path.name}
        if self.open_model:
            doc.update({key: self.sends.total(key) for key in ("scheduled", "sent", "dropped")})
            doc["by_process"] = self.sends.by_process
        else:
            doc.update({"scheduled": None, "sent": None, "dropped": None})
        return doc


def read_totals(path: Path, start: float | None = None, end: float | None = None
                ) -> dict[str, Any]:
    """Each tag's intervals of ``path`` added up (an ``HdrHistogram`` per tag), keeping the
    intervals that start in ``[start, end)`` (unix seconds) when given."""
    from hdrh.log import HistogramLogReader

    from loadtests.latency import new_histogram

    totals: dict[str, Any] = {}
    reader = HistogramLogReader(str(path), new_histogram())
    try:
        while True:
            histogram = reader.get_next_interval_histogram(
                range_start_time_sec=0.0 if start is None else start,
                range_end_time_sec=float(2**62) if end is None else end - 1e-6,
                absolute=True,
            )
            if histogram is None:
                break
            tag = histogram.get_tag() or ""
            if tag in totals:
                totals[tag].add(histogram)
            else:
                totals[tag] = histogram
    finally:
        reader.close()
    return totals
