"""A seeded, deterministic price simulator in whole ticks (Decimal out).

The price of a symbol at a given second is a function of (seed, symbol,
second) only, so every replica of marketdata and analytics agrees without
talking to each other, and any past second can be computed directly.

The path is multi-scale value noise: level ``L`` holds one random offset per
block of ``2**L`` seconds with an amplitude growing like ``sqrt(2**L)``, which
gives random-walk-like paths (variance growing with the horizon) that stay
around the reference price instead of drifting away forever.
"""

from __future__ import annotations

import hashlib
import math
from decimal import Decimal

LEVELS = 16  # 2**16 s ≈ 18 h: the longest swing
_SCALES = [math.sqrt(2.0) ** level for level in range(LEVELS)]


class PriceSimulator:
    def __init__(self, seed: int, *, volatility_bps: int = 1) -> None:
        self.seed = seed
        self.volatility_bps = volatility_bps

    def _noise(self, symbol: str, level: int, block: int, amplitude: int) -> int:
        digest = hashlib.blake2b(
            f"{self.seed}:{symbol}:{level}:{block}".encode(), digest_size=8
        ).digest()
        return int.from_bytes(digest, "big") % (2 * amplitude + 1) - amplitude

    def _amplitudes(self, reference_ticks: int) -> list[int]:
        base = max(1, reference_ticks * self.volatility_bps // 10_000)
        return [max(1, round(base * scale)) for scale in _SCALES]

    def price_ticks(self, symbol: str, reference_ticks: int, second: int) -> int:
        amplitudes = self._amplitudes(reference_ticks)
        offset = sum(
            self._noise(symbol, level, second >> level, amplitudes[level])
            for level in range(LEVELS)
        )
        return max(max(1, reference_ticks // 100), reference_ticks + offset)

    def price(self, symbol: str, reference: Decimal, tick: Decimal, second: int) -> Decimal:
        ticks = self.price_ticks(symbol, int(reference / tick), second)
        return ticks * tick

    def series(
        self, symbol: str, reference: Decimal, tick: Decimal, end_second: int, points: int
    ) -> list[Decimal]:
        """Prices of the ``points`` seconds ending at ``end_second`` (oldest first)."""
        ref_ticks = int(reference / tick)
        amplitudes = self._amplitudes(ref_ticks)
        floor = max(1, ref_ticks // 100)
        cache: dict[tuple[int, int], int] = {}
        out = []
        for second in range(end_second - points + 1, end_second + 1):
            offset = 0
            for level in range(LEVELS):
                key = (level, second >> level)
                value = cache.get(key)
                if value is None:
                    value = cache[key] = self._noise(symbol, level, key[1], amplitudes[level])
                offset += value
            out.append(max(floor, ref_ticks + offset) * tick)
        return out
