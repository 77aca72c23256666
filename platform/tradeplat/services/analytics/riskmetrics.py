"""Risk metrics over a price series; the cost grows with the square of the window.

Returns are ratios, so this module computes them in binary floating point
(statistics, not money); the results leave as strings rounded to 6 places.
``rolling_volatility_max`` scans every contiguous sub-window of at least
``MIN_SUBWINDOW`` returns — O(window²) on purpose: it is the CPU-heavy
endpoint that makes CPU autoscaling visible.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from decimal import Decimal

SECONDS_PER_TRADING_YEAR = 252 * 6.5 * 3600
MIN_SUBWINDOW = 10
#: How many outer rows of the O(n²) scan run between two looks at the clock.
_CHECK_EVERY = 16


class ComputationStopped(Exception):
    """The computation passed its ``stop_at`` and gave up, its result unneeded."""


def _check(stop_at: float | None) -> None:
    if stop_at is not None and time.monotonic() >= stop_at:
        raise ComputationStopped("the computation ran past its deadline")


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "0"
    return f"{value:.6f}"


def compute(prices: Sequence[Decimal], *, stop_at: float | None = None) -> dict[str, str]:
    """The metrics of ``prices``; ``ComputationStopped`` once ``time.monotonic()``
    passes ``stop_at`` (checked throughout the O(n²) part)."""
    _check(stop_at)
    values = [float(p) for p in prices]
    returns = [math.log(b / a) for a, b in zip(values, values[1:], strict=False)]
    n = len(returns)
    mean = sum(returns) / n if n else 0.0
    variance = sum((r - mean) ** 2 for r in returns) / (n - 1) if n > 1 else 0.0
    vol = math.sqrt(variance)
    ordered = sorted(returns)
    cut = max(1, int(0.05 * n)) if n else 0
    tail = ordered[:cut]
    var_95 = -ordered[cut - 1] if tail else 0.0
    es_95 = -sum(tail) / len(tail) if tail else 0.0
    sharpe = (mean / vol) * math.sqrt(SECONDS_PER_TRADING_YEAR) if vol > 0 else 0.0
    peak = values[0] if values else 0.0
    drawdown = 0.0
    for v in values:
        peak = max(peak, v)
        if peak > 0:
            drawdown = max(drawdown, (peak - v) / peak)
    return {
        "volatility": _fmt(vol),
        "annualized_volatility": _fmt(vol * math.sqrt(SECONDS_PER_TRADING_YEAR)),
        "var_95": _fmt(var_95),
        "expected_shortfall_95": _fmt(es_95),
        "sharpe": _fmt(sharpe),
        "max_drawdown": _fmt(drawdown),
        "rolling_volatility_max": _fmt(max_subwindow_volatility(returns, stop_at=stop_at)),
    }


def max_subwindow_volatility(returns: Sequence[float], *, stop_at: float | None = None) -> float:
    """The highest sample standard deviation over every contiguous sub-window
    of at least ``MIN_SUBWINDOW`` returns (O(n²) with running sums);
    ``ComputationStopped`` once past ``stop_at``."""
    n = len(returns)
    best = 0.0
    for start in range(n):
        if start % _CHECK_EVERY == 0:
            _check(stop_at)
        total = 0.0
        squares = 0.0
        count = 0
        for r in returns[start:]:
            total += r
            squares += r * r
            count += 1
            if count >= MIN_SUBWINDOW:
                var = (squares - total * total / count) / (count - 1)
                if var > best:
                    best = var
    return math.sqrt(best) if best > 0 else 0.0
