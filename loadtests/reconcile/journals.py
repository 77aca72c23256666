"""Read the order journals of a run (``RESULTS/journal/orders-*.jsonl``, see loadtests.journal).

A journal that ends without its ``end`` record belongs to a load process that
did not stop cleanly; a truncated last line (a crash mid-write) is skipped and
reported. A malformed line anywhere else is an error: the journal cannot be
trusted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.errors import ReconcileError

Key = tuple[str, str]  # (account_id, client_order_id)


@dataclass
class JournalSet:
    files: list[Path] = field(default_factory=list)
    starts: list[dict[str, Any]] = field(default_factory=list)
    intents: dict[Key, dict[str, Any]] = field(default_factory=dict)
    acks: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)
    cancels: dict[str, dict[str, Any]] = field(default_factory=dict)  # order id -> record
    unclean: list[Path] = field(default_factory=list)  # no "end" record
    unclean_prefixes: set[str] = field(default_factory=set)  # client order id prefixes of those
    warnings: list[str] = field(default_factory=list)
    last_t: float = 0.0  # time of the latest record

    @property
    def accounts(self) -> set[str]:
        """The load accounts: those the processes loaded, and those that submitted."""
        ids = {a for s in self.starts for a in s.get("accounts") or ()}
        return ids | {account for account, _ in self.intents}

    @property
    def started_at(self) -> float:
        return min(float(s["t"]) for s in self.starts)

    @property
    def acknowledged(self) -> int:
        return len(self.acks)


def _key(record: dict[str, Any], where: str) -> Key:
    account, coid = record.get("account_id"), record.get("client_order_id")
    if not isinstance(account, str) or not isinstance(coid, str):
        raise ReconcileError(f"{where}: record without account_id/client_order_id")
    return account, coid


def read_journals(journal_dir: Path) -> JournalSet:
    """Every journal of ``journal_dir``; ``ReconcileError`` when there is none or one is corrupt."""
    journal_dir = Path(journal_dir)
    files = sorted(journal_dir.glob("orders-*.jsonl"))
    if not files:
        raise ReconcileError(f"{journal_dir}: no order journal (orders-*.jsonl): nothing to check")
    out = JournalSet(files=files)
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ReconcileError(f"{path}: cannot read the journal: {exc.strerror}") from exc
        ended = False
        prefixes: set[str] = set()
        for number, line in enumerate(lines, start=1):
            where = f"{path}:{number}"
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    out.warnings.append(f"{where}: truncated last record skipped (crash mid-write)")
                    continue
                raise ReconcileError(
                    f"{where}: not a JSON record: the journal is corrupt"
                ) from None
            if not isinstance(record, dict):
                raise ReconcileError(f"{where}: not a JSON object")
            kind = record.get("kind")
            t = record.get("t")
            if isinstance(t, int | float) and t > out.last_t:
                out.last_t = float(t)
            if kind == "start":
                if "t" not in record:
                    raise ReconcileError(f"{where}: start record without 't'")
                out.starts.append(record)
            elif kind == "submit":
                key = _key(record, where)
                out.intents.setdefault(key, record)
                prefixes.add(key[1].rsplit("-", 1)[0] + "-")
            elif kind == "ack":
                key = _key(record, where)
                out.acks.setdefault(key, []).append(record)
                out.intents.setdefault(key, record)  # an ack carries what was submitted
            elif kind == "cancel":
                if isinstance(record.get("order_id"), str):
                    out.cancels[record["order_id"]] = record
            elif kind == "end":
                ended = True
            else:
                raise ReconcileError(f"{where}: unknown record kind {kind!r}")
        if not ended:
            out.unclean.append(path)
            out.unclean_prefixes |= prefixes
            out.warnings.append(
                f"{path}: no 'end' record: that load process did not stop cleanly; orders it "
                "submitted in its last second may be missing from the journal"
            )
    if not out.starts:
        raise ReconcileError(f"{journal_dir}: journals without a 'start' record")
    return out
