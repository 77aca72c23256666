"""Read back what a load run left in its results folder: Locust's aggregate and journal counts."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


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
    )
