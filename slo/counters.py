"""Counters turned into the events of a time window, each process's counter on its own.

A counter SLI's series are one per process (labels ``instance``/``pod``; the rest,
e.g. ``service``, name the group judged). Each sample of such a series counts the
process's events up to the moment it was scraped, which lags the sample's own
time: by up to a scrape interval, plus a rule evaluation interval when the
series is a recording rule. With the scrape times (an SLI's
``tradestorm.dev/scraped-at`` query: ``timestamp()`` of the raw counters taken by
the same rule group) the events between two scrapes are placed in the interval
between them. A phase counts the intervals that lie inside it, except the fault
phase (and the whole run), which counts every interval that reaches into it: the
interval across the fault's start holds its first errors and the one across its
end its last, however short the overlap, so the baseline and the recovery stay
free of the fault's errors and the fault phase holds them all, to within one
scrape interval of its bounds. Without the scrape times the sample times stand
in (the rule's lag then leaks into the next phase).

Consecutive samples of the same scrape are one scrape; a counter that goes down
was reset (its new value is the increase); a process first seen well after the
data begins started then and counts from 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promclient.series import Series
from slo.series import PROCESS_LABELS

_EDGE = 1e-6  # seconds: a scrape exactly on a bound is inside


@dataclass(frozen=True)
class Interval:
    """Events one process counted between two scrapes: ``(start, end]``."""

    start: float
    end: float
    total: float
    part: float | None  # None: no good/bad series for this process (no evidence)


def process_key(series: Series) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in series.labels.items() if k != "__name__"))


def group_key(series: Series) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in series.labels.items()
                        if k != "__name__" and k not in PROCESS_LABELS))


def intervals(
    total: Series,
    part: Series | None,
    scraped: Series | None,
    step_s: float,
    data_start: float,
) -> list[Interval]:
    """The scrape intervals of one process, with their events (see the module)."""
    tolerance = step_s / 2
    scrapes: list[tuple[float, float, float | None]] = []  # (scraped at, total, part)
    for t, value in zip(total.times, total.values, strict=True):
        at = scraped.at(t, tolerance) if scraped is not None else None
        at = t if at is None else min(at, t)
        part_value = part.at(t, tolerance) if part is not None else None
        if scrapes and at <= scrapes[-1][0]:
            continue  # the same scrape, seen again at the next step
        scrapes.append((at, value, part_value))
    out: list[Interval] = []
    if not scrapes:
        return out
    first_at, first_total, first_part = scrapes[0]
    if first_at - data_start > 2 * step_s:  # started inside the data: counts from 0
        out.append(Interval(first_at - step_s, first_at, first_total, first_part))
    for (a0, t0, p0), (a1, t1, p1) in zip(scrapes, scrapes[1:], strict=False):
        reset = t1 < t0
        d_total = t1 if reset else t1 - t0
        d_part: float | None = None
        if p1 is not None:
            d_part = p1 if reset or p0 is None or p1 < p0 else p1 - p0
        out.append(Interval(a0, a1, d_total, d_part))
    return out


def grouped(
    totals: Sequence[Series],
    parts: Sequence[Series],
    scraped: Sequence[Series],
    step_s: float,
    data_start: float,
) -> dict[tuple, list[Interval]]:
    """Every process's intervals, grouped by the labels left without the process labels."""
    part_of = {process_key(s): s for s in parts}
    scraped_of = {process_key(s): s for s in scraped}
    single_part = parts[0] if len(parts) == 1 and len(totals) == 1 else None
    out: dict[tuple, list[Interval]] = {}
    for total in totals:
        key = process_key(total)
        part = part_of.get(key, single_part)
        out.setdefault(group_key(total), []).extend(
            intervals(total, part, scraped_of.get(key), step_s, data_start))
    return out


def count_between(found: Sequence[Interval], start: float, end: float, *,
                  reaching: bool = False, proportional: bool = False
                  ) -> tuple[float, float | None] | None:
    """(events, good/bad events) of the intervals inside ``[start, end]``, or with
    ``reaching`` of every interval that reaches into it, or with ``proportional`` of every
    interval in proportion of its overlap; None when no interval counts."""
    total = 0.0
    part: float | None = 0.0
    seen = False
    for interval in found:
        overlap = _overlap(interval, start, end)
        if overlap <= 0:
            continue
        if proportional:
            share = overlap
        elif reaching or (interval.start >= start - _EDGE and interval.end <= end + _EDGE):
            share = 1.0
        else:
            continue
        seen = True
        total += interval.total * share
        part = None if part is None or interval.part is None else part + interval.part * share
    return (total, part) if seen else None


def per_step(found: Sequence[Interval], grid: Sequence[float], step_s: float
             ) -> list[tuple[float, float | None] | None]:
    """For each grid cell ``(t - step, t]``, the events placed in it (None: no interval
    reaches it, a hole)."""
    return [count_between(found, t - step_s, t, proportional=True) for t in grid]


def earliest_start(found: Sequence[Interval], start: float, end: float) -> float | None:
    """The start of the earliest interval reaching into ``(start, end]``."""
    starts = [i.start for i in found if _overlap(i, start, end) > 0 or start < i.end <= end]
    return min(starts) if starts else None


def _overlap(interval: Interval, start: float, end: float) -> float:
    width = interval.end - interval.start
    if width <= 0:
        return 1.0 if start <= interval.end < end else 0.0
    inside = min(interval.end, end) - max(interval.start, start)
    return max(0.0, inside) / width
