"""Client latency in HDR histograms, one interval per second (the recording side).

Every request is recorded twice, in microseconds: from when it was actually sent
(``sent``) and from when the schedule meant to send it (``intended``; the same
value for closed-model profiles, whose users send when they are ready). Values
go into per-second intervals keyed by route class (:func:`loadtests.metrics.route_class`),
as the bucket counts of an HdrHistogram (``hdrhistogram`` package: 1 µs to 1 h,
3 significant digits) kept sparse (``{counts index: count}``): recording costs a
few integer operations and a dict update, not a ``record_value`` call (≈ 6 µs in
pure Python, four of them per request). :func:`to_histogram` builds the real
``HdrHistogram`` of an interval when it is written (:mod:`loadtests.latency_log`).

The interval of a request is the unix second in which its answer arrived.
"""

from __future__ import annotations

import time

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3600 * 1_000_000  # one hour: anything longer is recorded as one hour
SIGNIFICANT_DIGITS = 3
KINDS = ("sent", "intended")
ALL = "all"  # the tag suffix of every route class together

# the bucket layout HdrHistogram(1, HIGHEST_US, 3) uses (unit magnitude 0)
_SUB_BUCKET_HALF_MAG = 10  # log2(2 * 10**3) rounded up, minus one
_SUB_BUCKET_HALF = 1 << _SUB_BUCKET_HALF_MAG
_SUB_BUCKET_MASK = (1 << (_SUB_BUCKET_HALF_MAG + 1)) - 1

Counts = dict[int, int]  # HdrHistogram counts index -> count
Interval = tuple[int, str, str, Counts]  # (unix second, kind, route class, counts)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def counts_index(value_us: int) -> int:
    """The HdrHistogram counts index of ``value_us`` (clamped to 0 .. :data:`HIGHEST_US`)."""
    if value_us < 0:
        value_us = 0
    elif value_us > HIGHEST_US:
        value_us = HIGHEST_US
    bucket = (value_us | _SUB_BUCKET_MASK).bit_length() - _SUB_BUCKET_HALF_MAG - 1
    return ((bucket + 1) << _SUB_BUCKET_HALF_MAG) + (value_us >> bucket) - _SUB_BUCKET_HALF


def to_histogram(counts: Counts) -> HdrHistogram:
    """An ``HdrHistogram`` holding ``counts``."""
    histogram = new_histogram()
    add_counts(histogram, counts)
    return histogram


def add_counts(histogram: HdrHistogram, counts: Counts) -> None:
    """Add sparse ``counts`` to ``histogram`` (its min, max and total follow)."""
    if not counts:
        return
    cells = histogram.counts
    total = 0
    for index, count in counts.items():
        cells[index] += count
        total += count
    low, high = min(counts), max(counts)
    if histogram.total_count:
        low_value, high_value = histogram.min_value, histogram.max_value
    else:
        low_value, high_value = None, None
    histogram.set_internal_tacking_values(low, high, histogram.total_count + total)
    if low_value is not None:
        histogram.min_value = min(histogram.min_value, low_value)
        histogram.max_value = max(histogram.max_value, high_value)


def merge_counts(into: Counts, other: Counts) -> None:
    get = into.get
    for index, count in other.items():
        into[index] = get(index, 0) + count


class IntervalRecorder:
    """The current second's sparse histograms of one load process, and the closed seconds.

    ``mirror_intended``: a closed model records only ``sent``; its ``intended``
    intervals are copies (nothing was scheduled apart from the users).
    """

    def __init__(self, *, mirror_intended: bool) -> None:
        self.mirror_intended = mirror_intended
        self._second = int(time.time())
        self._current: dict[tuple[str, str], Counts] = {}
        self._closed: list[Interval] = []

    def record(self, route_class: str, sent_us: int, intended_us: int, now: float) -> None:
        """One answer that arrived at unix time ``now``."""
        second = int(now)
        if second != self._second:
            self._rotate(second)
        current = self._current
        counts = current.get(("sent", route_class))
        if counts is None:
            counts = current[("sent", route_class)] = {}
        index = counts_index(sent_us)
        counts[index] = counts.get(index, 0) + 1
        if self.mirror_intended:
            return
        counts = current.get(("intended", route_class))
        if counts is None:
            counts = current[("intended", route_class)] = {}
        index = counts_index(intended_us)
        counts[index] = counts.get(index, 0) + 1

    def record_sent(self, route_class: str, sent_us: int, now: float) -> None:
        """A closed model's answer: intended == sent."""
        second = int(now)
        if second != self._second:
            self._rotate(second)
        key = ("sent", route_class)
        counts = self._current.get(key)
        if counts is None:
            counts = self._current[key] = {}
        index = counts_index(sent_us)
        counts[index] = counts.get(index, 0) + 1

    def _rotate(self, second: int) -> None:
        for (kind, cls), counts in self._current.items():
            self._closed.append((self._second, kind, cls, counts))
            if self.mirror_intended and kind == "sent":
                self._closed.append((self._second, "intended", cls, dict(counts)))
        self._current = {}
        self._second = second

    def take(self, *, everything: bool = False, now: float | None = None) -> list[Interval]:
        """The intervals of the seconds that are over (with ``everything``: the current one
        too), handed over once."""
        second = int(time.time() if now is None else now)
        if everything or second != self._second:
            self._rotate(second if not everything else self._second + 1)
        closed, self._closed = self._closed, []
        return closed

