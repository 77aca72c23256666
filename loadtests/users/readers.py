"""Users that only read: market watchers, portfolio viewers, analytics users."""

from __future__ import annotations

from typing import ClassVar

from loadtests.users.base import PlatformUser


class MarketWatcher(PlatformUser):
    """Reads quotes (mostly) and candles."""

    weight = 3
    think_time = (0.3, 1.5)
    actions = ((7, "quote"), (3, "candles"))

    def quote(self) -> None:
        symbol = self.rng.choice(self.symbols()).symbol
        self.read(f"/v1/marketdata/quotes/{symbol}", "/v1/marketdata/quotes/{symbol}")

    def candles(self) -> None:
        symbol = self.rng.choice(self.symbols()).symbol
        interval = self.rng.choice(("1s", "1m", "5m"))
        self.read(
            f"/v1/marketdata/candles/{symbol}?interval={interval}&limit=60",
            "/v1/marketdata/candles/{symbol}",
        )


class PortfolioViewer(PlatformUser):
    """Reads its portfolio (mostly) and its ledger."""

    weight = 1
    think_time = (0.5, 2.0)
    actions = ((7, "portfolio"), (3, "ledger"))

    def portfolio(self) -> None:
        self.read("/v1/portfolio", "/v1/portfolio")

    def ledger(self) -> None:
        self.read("/v1/portfolio/ledger?limit=50", "/v1/portfolio/ledger")


class AnalyticsUser(PlatformUser):
    """Calls the CPU-heavy risk analytics endpoint with windows of various sizes."""

    weight = 1
    think_time = (1.0, 3.0)
    windows: ClassVar[tuple[int, ...]] = (250, 500, 1000, 2000)
    actions = ((1, "risk"),)

    def risk(self) -> None:
        symbol = self.rng.choice(self.symbols()).symbol
        window = self.rng.choice(self.windows)
        self.read(f"/v1/analytics/risk/{symbol}?window={window}", "/v1/analytics/risk/{symbol}")
