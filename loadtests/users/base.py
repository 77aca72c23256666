"""The base of every platform user: account, seeded randomness, pacing, outcomes."""

from __future__ import annotations

import bisect
import itertools
import random
import time
from typing import Any, ClassVar

from locust import FastHttpUser
from locust.contrib.fasthttp import ResponseContextManager

from loadtests.context import LoadContext, load_context
from loadtests.orders import SymbolInfo, fallback_symbols

# a worker that joins a running test gets users before its init (see load_context)
CONTEXT_WAIT_S = 30.0


class PlatformUser(FastHttpUser):
    """A user acting as one of the demo accounts.

    Randomness comes only from ``self.rng`` (``random.Random`` seeded with the
    run's seed, the worker index, the class and the user's index), so a run with
    the same seed and profile repeats its choices. Each user has a single task,
    ``step``, which draws the action itself: Locust's own task picker uses the
    global ``random``.
    """

    abstract = True
    think_time: ClassVar[tuple[float, float]] = (0.5, 2.0)
    # (weight, method name) of the actions ``step`` draws from
    actions: ClassVar[tuple[tuple[int, str], ...]] = ()

    def __init__(self, environment: Any) -> None:
        self.ctx: LoadContext = load_context(environment, wait_s=CONTEXT_WAIT_S)
        settings = self.ctx.settings
        self.network_timeout = settings.request_timeout_s
        self.connection_timeout = min(settings.request_timeout_s, 5.0)
        super().__init__(environment)
        worker = int(getattr(environment.runner, "worker_index", 0) or 0)
        index = self.ctx.next_user_index()
        self.rng = random.Random(f"{settings.seed}/{worker}/{type(self).__name__}/{index}")
        accounts = self.ctx.accounts
        self.account = accounts[(worker * 7919 + index) % len(accounts)]
        self.auth = {"X-API-Key": self.account.api_key}
        self._pacing_last: float | None = None
        self._pause_until = 0.0  # monotonic time before which a 429's Retry-After holds us
        self._names = [name for _, name in self.actions]
        self._cumulative = list(itertools.accumulate(weight for weight, _ in self.actions))

    # -- pacing ------------------------------------------------------------
    def wait_time(self) -> float:
        pause = self._pause_until - time.monotonic()
        if pause > 0:
            return pause  # the platform asked us to back off (429 Retry-After)
        per_user = self.ctx.settings.pacing_per_user
        if not per_user:
            return self.rng.uniform(*self.think_time)
        # constant pacing: one iteration every 1/per_user seconds, whatever it took
        interval = 1.0 / per_user
        now = time.monotonic()
        if self._pacing_last is None:
            wait = self.rng.uniform(0, interval)  # spread the users' phases
        else:
            wait = max(0.0, interval - (now - self._pacing_last))
        self._pacing_last = now + wait
        return wait

    # -- the single task ---------------------------------------------------
    def step(self) -> None:
        names = self._names
        if len(names) == 1:
            name = names[0]
        else:
            cumulative = self._cumulative
            name = names[bisect.bisect_right(cumulative, self.rng.random() * cumulative[-1])]
        getattr(self, name)()

    tasks = [step]

    # -- helpers -----------------------------------------------------------
    def symbols(self) -> list[SymbolInfo]:
        """Tradable symbols, fetched once per process (until then: the defaults)."""
        ctx = self.ctx
        if ctx.tradable is not None:
            return ctx.tradable
        with self.client.get(
            "/v1/marketdata/symbols",
            name="/v1/marketdata/symbols",
            headers=self.auth,
            catch_response=True,
        ) as resp:
            if self.classify(resp) == "ok":
                try:
                    items = resp.json()["symbols"]
                    ctx.symbols = [SymbolInfo.from_api(i) for i in items]
                except (ValueError, KeyError, TypeError, ArithmeticError):
                    resp.failure("symbols: unreadable body")
        if ctx.symbols is None:
            return fallback_symbols()  # asked again next time
        ctx.tradable = [s for s in ctx.symbols if not s.trading_halted] or fallback_symbols()
        return ctx.tradable

    def mark(self, resp: ResponseContextManager, outcome: str) -> None:
        """A success for Locust that the client metrics count as ``outcome``
        (``denied`` or ``throttled``); also left in the request's context for listeners."""
        meta = resp.request_meta
        meta["context"]["outcome"] = outcome
        metrics = self.ctx.metrics
        if metrics is not None:
            metrics.count_outcome(meta["name"], meta["request_type"], outcome)

    def classify(self, resp: ResponseContextManager) -> str:
        """Judge a read: 2xx ok, 429 throttled (a correct answer), anything else a failure."""
        code = resp.status_code
        if 200 <= code < 300:
            resp.success()
            return "ok"
        if code == 429:
            self.throttled(resp)
            return "throttled"
        resp.failure(_describe(resp))
        return "fail"

    def throttled(self, resp: ResponseContextManager, max_pause_s: float = 5.0) -> None:
        """A 429 is a correct answer: count it as throttled and honour Retry-After."""
        self.mark(resp, "throttled")
        resp.success()
        try:
            pause = float(resp.headers.get("Retry-After") or 0)
        except (TypeError, ValueError):
            pause = 0.0  # an HTTP date or garbage: no pause
        if pause > 0:
            self._pause_until = time.monotonic() + min(pause, max_pause_s)

    def read(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, headers=self.auth, catch_response=True) as resp:
            self.classify(resp)


def _describe(resp: ResponseContextManager) -> str:
    code = resp.status_code
    if not code:
        error = getattr(resp, "error", None)
        return f"no response: {type(error).__name__ if error else 'connection error'}: {error}"
    try:
        text = (resp.text or "")[:200]
    except Exception:  # noqa: BLE001 - a body we cannot decode is still worth a status line
        text = ""
    return f"HTTP {code}: {text}"
