"""What the users of one load process share: settings, accounts, journal, metrics.

Built once at Locust's ``init`` event by :mod:`loadtests.hooks` and attached to
the Locust ``Environment``; users read it with :func:`load_context`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from loadtests.accounts import Account
from loadtests.arrival import RateSchedule
from loadtests.errors import LoadRunError
from loadtests.journal import OrderJournal
from loadtests.latency import IntervalRecorder
from loadtests.metrics import ClientMetrics
from loadtests.orders import ClientOrderIds, SymbolInfo
from loadtests.rate_split import RateShare, RateSplitter, SendCounters
from loadtests.settings import LoadSettings

ATTRIBUTE = "tradestorm_load"


@dataclass
class LoadContext:
    settings: LoadSettings
    accounts: list[Account]
    journal: OrderJournal | None = None
    metrics: ClientMetrics | None = None
    order_ids: ClientOrderIds | None = None
    symbols: list[SymbolInfo] | None = None  # as the platform lists them
    tradable: list[SymbolInfo] | None = None  # those not halted, once symbols are known
    schedule: RateSchedule | None = None  # an arrival-rate profile's send times
    rate_share: RateShare = field(default_factory=RateShare)  # this process's part of them
    splitter: RateSplitter | None = None  # in the process that plays the profile
    sends: SendCounters = field(default_factory=SendCounters)
    latency: IntervalRecorder | None = None  # in a process that runs users
    sender_active: bool = False  # one open-model sender per process
    _user_counter: itertools.count = field(default_factory=lambda: itertools.count())

    def next_user_index(self) -> int:
        return next(self._user_counter)


def load_context(environment: Any, wait_s: float = 0.0) -> LoadContext:
    """The load context of ``environment``, waiting up to ``wait_s`` for it to be built.

    The wait is for a worker that joins a test already running: Locust hands it its
    first users while it is still connecting to the master, before the ``init``
    event that builds the context has fired; a user waiting here lets the
    connection finish (a gevent sleep) and ``init`` build the context.
    """
    ctx = getattr(environment, ATTRIBUTE, None)
    if ctx is None and wait_s > 0:
        import gevent

        deadline = time.monotonic() + wait_s
        while ctx is None and time.monotonic() < deadline:
            gevent.sleep(0.05)
            ctx = getattr(environment, ATTRIBUTE, None)
    if ctx is None:
        raise LoadRunError(
            "the tradestorm load context is missing: run loadtests/locustfile.py "
            "(or call loadtests.hooks.install() in your locustfile)"
        )
    return ctx
