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
"""

from loadtests.users.base import PlatformUser
from loadtests.users.readers import AnalyticsUser, MarketWatcher, PortfolioViewer
from loadtests.users.trader import Trader

__all__ = ["AnalyticsUser", "MarketWatcher", "PlatformUser", "PortfolioViewer", "Trader"]
