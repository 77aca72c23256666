"""Locust's CSV output (``locust --csv RESULTS/locust``), read with its real column names.

Columns are those of ``locust.stats.StatsCSV`` (``Type``, ``Name``, ``Request
Count``, …, one column per reported percentile such as ``95%``). Locust writes
``N/A`` for a percentile with no requests; that reads as ``None``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from reports.errors import ResultsFileError

STATS_FILE = "locust_stats.csv"
HISTORY_FILE = "locust_stats_history.csv"
FAILURES_FILE = "locust_failures.csv"
AGGREGATED = "Aggregated"


@dataclass(frozen=True)
class EndpointStats:
    method: str
    name: str
    requests: int
    failures: int
    median_ms: float | None
    average_ms: float | None
    min_ms: float | None
    max_ms: float | None
    rps: float | None
    failures_per_s: float | None
    p95_ms: float | None
    p99_ms: float | None

    @property
    def aggregated(self) -> bool:
        return self.name == AGGREGATED and not self.method

    @property
    def failure_ratio(self) -> float | None:
        return self.failures / self.requests if self.requests else None


@dataclass(frozen=True)
class FailureRow:
    method: str
    name: str
    error: str
    occurrences: int
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class HistoryPoint:
    """One row of the aggregated history (Locust writes one per second)."""

    t: float
    users: float | None
    rps: float | None
    failures_per_s: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass
class LocustResults:
    stats: list[EndpointStats] = field(default_factory=list)
    failures: list[FailureRow] = field(default_factory=list)
    history: list[HistoryPoint] = field(default_factory=list)

    @property
    def total(self) -> EndpointStats | None:
        return next((s for s in self.stats if s.aggregated), None)

    @property
    def endpoints(self) -> list[EndpointStats]:
        return [s for s in self.stats if not s.aggregated]


class _Rows:
    """Rows of one CSV file, with numeric reads that name file, row and column."""

    def __init__(self, path: Path, required: tuple[str, ...]) -> None:
        self.path = path
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                self.columns = list(reader.fieldnames or [])
                self.rows = list(reader)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ResultsFileError(path, "(file)", f"not a readable CSV file: {exc}") from exc
        missing = [c for c in required if c not in self.columns]
        if missing and (self.columns or self.rows):
            raise ResultsFileError(path, missing[0], "column missing from the CSV header")

    def number(self, row_no: int, row: dict[str, str | None], column: str) -> float | None:
        raw = (row.get(column) or "").strip()
        if raw in ("", "N/A", "nan"):
            return None
        try:
            return float(raw)
        except ValueError:
            raise ResultsFileError(
                self.path, f"row {row_no} column '{column}'", f"not a number: {raw[:40]!r}"
            ) from None

    def count(self, row_no: int, row: dict[str, str | None], column: str) -> int:
        value = self.number(row_no, row, column)
        return int(value) if value is not None else 0


def _text(row: dict[str, str | None], column: str) -> str:
    return (row.get(column) or "").strip()


def read_stats(path: Path) -> list[EndpointStats]:
    rows = _Rows(path, ("Name", "Request Count", "Failure Count"))
    out = []
    for no, row in enumerate(rows.rows, start=2):
        out.append(EndpointStats(
            method=_text(row, "Type"),
            name=_text(row, "Name"),
            requests=rows.count(no, row, "Request Count"),
            failures=rows.count(no, row, "Failure Count"),
            median_ms=rows.number(no, row, "Median Response Time"),
            average_ms=rows.number(no, row, "Average Response Time"),
            min_ms=rows.number(no, row, "Min Response Time"),
            max_ms=rows.number(no, row, "Max Response Time"),
            rps=rows.number(no, row, "Requests/s"),
            failures_per_s=rows.number(no, row, "Failures/s"),
            p95_ms=rows.number(no, row, "95%"),
            p99_ms=rows.number(no, row, "99%"),
        ))
    return out


def read_failures(path: Path) -> list[FailureRow]:
    rows = _Rows(path, ("Name", "Error", "Occurrences"))
    return [
        FailureRow(
            method=_text(row, "Method"),
            name=_text(row, "Name"),
            error=_text(row, "Error"),
            occurrences=rows.count(no, row, "Occurrences"),
            first_seen=_text(row, "First Seen"),
            last_seen=_text(row, "Last Seen"),
        )
        for no, row in enumerate(rows.rows, start=2)
    ]


def read_history(path: Path) -> list[HistoryPoint]:
    """The aggregated rows only (with ``--csv-full-history`` Locust adds one per endpoint)."""
    rows = _Rows(path, ("Timestamp", "Name"))
    out = []
    for no, row in enumerate(rows.rows, start=2):
        if _text(row, "Name") != AGGREGATED:
            continue
        t = rows.number(no, row, "Timestamp")
        if t is None:
            continue
        out.append(HistoryPoint(
            t=t,
            users=rows.number(no, row, "User Count"),
            rps=rows.number(no, row, "Requests/s"),
            failures_per_s=rows.number(no, row, "Failures/s"),
            p50_ms=rows.number(no, row, "50%"),
            p95_ms=rows.number(no, row, "95%"),
            p99_ms=rows.number(no, row, "99%"),
        ))
    return out


def read_locust(results_dir: Path) -> tuple[LocustResults | None, list[str]]:
    """Locust's three CSV files: the results (None when none exists) and the missing names."""
    readers = ((STATS_FILE, read_stats), (FAILURES_FILE, read_failures),
               (HISTORY_FILE, read_history))
    found: dict[str, list] = {}
    missing = []
    for name, reader in readers:
        path = results_dir / name
        if path.is_file():
            found[name] = reader(path)
        else:
            missing.append(name)
    if not found:
        return None, missing
    return LocustResults(
        stats=found.get(STATS_FILE, []),
        failures=found.get(FAILURES_FILE, []),
        history=found.get(HISTORY_FILE, []),
    ), missing
