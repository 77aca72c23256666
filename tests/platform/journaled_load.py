"""Order traffic that journals every intent and acknowledgement, for crash tests.

Threads submit orders (LIMIT around the reference price, so about half trade,
and some MARKET) like the load generator does: the intent is journaled before
the first attempt, an answer 200/201 is journaled as an acknowledgement, and a
503 or a broken connection is retried with the same client order id (the
platform's idempotency makes that safe). The journals are the load generator's
own format, so ``loadtests.reconcile`` checks them against the database.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from loadtests.journal import OrderJournal

REFERENCE = {"AAPL": 190, "MSFT": 410}
#: (url, headers) of the endpoint to submit to, picked per order.
Endpoint = Callable[[random.Random, str], tuple[str, dict[str, str]]]


@dataclass
class LoadStats:
    acknowledged: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    retried: int = 0
    given_up: int = 0


class JournaledLoad:
    """``workers`` threads submitting orders until :meth:`stop`."""

    def __init__(self, journal_dir: Path, accounts: list[str], endpoint: Endpoint, *,
                 workers: int = 8, give_up_after_s: float = 60.0) -> None:
        self.accounts = accounts
        self.endpoint = endpoint
        self.give_up_after_s = give_up_after_s
        self.journal = OrderJournal(journal_dir, run_id=f"crash-{uuid.uuid4().hex[:8]}",
                                    meta={"accounts": accounts})
        self.stats = LoadStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._user, args=(i,), daemon=True)
                         for i in range(workers)]

    def __enter__(self) -> JournaledLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> LoadStats:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.give_up_after_s + 30)
        with self._lock:
            self.journal.close()
        return self.stats

    def acknowledged(self) -> int:
        with self._lock:
            self.journal.flush(fsync=None)
            return self.stats.acknowledged

    def _intent(self, rng: random.Random) -> dict[str, object]:
        symbol = rng.choice(tuple(REFERENCE))
        intent: dict[str, object] = {
            "client_order_id": f"crash-{uuid.uuid4().hex}", "account_id": rng.choice(
                self.accounts), "symbol": symbol, "side": rng.choice(("BUY", "SELL")),
            "type": "LIMIT", "quantity": rng.randint(1, 5),
            "price": f"{REFERENCE[symbol] + rng.randint(-3, 3) / 100:.2f}",
        }
        if rng.random() < 0.1:
            intent["type"], intent["price"] = "MARKET", None
        return intent

    def _user(self, index: int) -> None:
        rng = random.Random(index)
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                intent = self._intent(rng)
                with self._lock:
                    fields = self.journal.submitted_order(intent)
                self._submit(client, rng, intent, fields)

    def _submit(self, client: httpx.Client, rng: random.Random, intent: dict[str, object],
                fields: str) -> None:
        body = {k: v for k, v in intent.items() if k != "account_id" and v is not None}
        give_up = time.monotonic() + self.give_up_after_s
        attempts = 0
        while time.monotonic() < give_up:
            attempts += 1
            url, headers = self.endpoint(rng, str(intent["account_id"]))
            try:
                answer = client.post(url, json=body, headers=headers)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code in (200, 201):
                with self._lock:
                    self.journal.acknowledged_order(
                        None, answer.json(), http_status=answer.status_code,
                        replayed=answer.status_code == 200, attempts=attempts, fields=fields)
                    self.stats.acknowledged += 1
                return
            if answer is not None and answer.status_code not in (429, 502, 503):
                with self._lock:
                    code = answer.status_code
                    self.stats.refused[code] = self.stats.refused.get(code, 0) + 1
                return
            with self._lock:
                self.stats.retried += 1
            time.sleep(0.05 + rng.random() * 0.1)
        with self._lock:
            self.stats.given_up += 1
