"""Locust users of the trading platform, with their weights.

==================  ======  ====================================================
user                weight  does
==================  ======  ====================================================
``Trader``          5       LIMIT and MARKET orders (client order id, retried
                            with the same id), cancels, polls its orders
``MarketWatcher``   3       quotes and candles
``PortfolioViewer`` 1       portfolio and ledger
``AnalyticsUser``   1       the CPU-heavy risk analytics endpoint
==================  ======  ====================================================

Those four are the closed-model users (steady, ramp, soak). The arrival-rate
profiles run :class:`OrderArrivals` instead: one per load process, sending
orders on the schedule (:mod:`loadtests.users.arrivals`).
"""

from loadtests.users.arrivals import OrderArrivals
from loadtests.users.base import PlatformUser
from loadtests.users.readers import AnalyticsUser, MarketWatcher, PortfolioViewer
from loadtests.users.trader import Trader

__all__ = [
    "AnalyticsUser",
    "MarketWatcher",
    "OrderArrivals",
    "PlatformUser",
    "PortfolioViewer",
    "Trader",
]
CLOSED_MODEL_USERS = (Trader, MarketWatcher, PortfolioViewer, AnalyticsUser)
