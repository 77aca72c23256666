"""Read back what a load run left in its results folder: Locust's aggregate, the journal
counts, the open model's send counts (``sends.json``) and the HDR latency log's p99."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from loadtests.latency_log import LOG_NAME, SENDS_NAME, read_totals


@dataclass(frozen=True)
class LoadSummary:
    requests: int
    failures: int
    requests_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    submitted: int
    acknowledged: int
    journals: int
    model: str | None = None  # "open" (arrival-rate) or "closed"; None without sends.json
    scheduled_sends: int | None = None  # open model: sends the schedule made due
    dropped_sends: int | None = None  # open model: not made, the in-flight bound was reached
    p99_sent_ms: float | None = None  # from latency.hlog (all route classes)
    p99_intended_ms: float | None = None


def _num(row: dict[str, str], key: str) -> float | None:
    value = row.get(key, "")
    try:
        return float(value)
    except ValueError:
        return None


def summarize(results_dir: Path) -> LoadSummary:
    """The Aggregated row of ``locust_stats.csv`` and the journals' submit/ack counts."""
    row: dict[str, str] = {}
    stats = Path(results_dir) / "locust_stats.csv"
    if stats.exists():
        with stats.open(newline="", encoding="utf-8") as fh:
            for item in csv.DictReader(fh):
                if item.get("Name") == "Aggregated":
                    row = item
    submitted = acknowledged = journals = 0
    for path in sorted((Path(results_dir) / "journal").glob("orders-*.jsonl")):
        journals += 1
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if '"kind":"submit"' in line:
                    submitted += 1
                elif '"kind":"ack"' in line:
                    acknowledged += 1
    sends: dict = {}
    sends_path = Path(results_dir) / SENDS_NAME
    if sends_path.exists():
        try:
            sends = json.loads(sends_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            sends = {}
    p99: dict[str, float | None] = {"sent": None, "intended": None}
    log_path = Path(results_dir) / LOG_NAME
    if log_path.exists():
        try:
            totals = read_totals(log_path)
        except (OSError, ValueError):
            totals = {}
        for kind in p99:
            histogram = totals.get(f"{kind}.all")
            if histogram is not None and histogram.get_total_count():
                p99[kind] = histogram.get_value_at_percentile(99.0) / 1000.0
    return LoadSummary(
        requests=int(_num(row, "Request Count") or 0),
        failures=int(_num(row, "Failure Count") or 0),
        requests_per_s=_num(row, "Requests/s") or 0.0,
        p50_ms=_num(row, "50%"),
        p95_ms=_num(row, "95%"),
        p99_ms=_num(row, "99%"),
        submitted=submitted,
        acknowledged=acknowledged,
        journals=journals,
        model=sends.get("model"),
        scheduled_sends=sends.get("scheduled"),
        dropped_sends=sends.get("dropped"),
        p99_sent_ms=p99["sent"],
        p99_intended_ms=p99["intended"],
    )
