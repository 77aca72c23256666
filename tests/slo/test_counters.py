"""Counters into a window's events (slo/counters.py): the arithmetic the gate's phase counts
and recovery times rest on, on hand-made series whose answer is known."""

from __future__ import annotations

import pytest

from promclient.series import Series
from slo.counters import count_between, grouped, intervals


def _series(labels, values, start=100.0, lag=0.0):
    times = [start + i for i in range(len(values))]
    return (Series(labels, times, values),
            Series(labels, times, [t - lag for t in times]))


def test_a_lagging_scrape_puts_the_events_where_they_happened():
    """Recorded at t, scraped 1.5 s before: 10 events a second, and 10 errors counted by the
    scrapes at 103.5 and 104.5 (recorded at 105 and 106)."""
    total, scraped = _series({"instance": "a"}, [10.0 * i for i in range(10)], lag=1.5)
    part, _ = _series({"instance": "a"}, [0, 0, 0, 0, 0, 5, 10, 10, 10, 10], lag=1.5)
    found = intervals(total, part, scraped, 1.0, 100.0)
    assert [(i.start, i.end) for i in found][:2] == [(98.5, 99.5), (99.5, 100.5)]
    # inside [103, 105]: the one interval (103.5, 104.5] and its 5 errors
    assert count_between(found, 103.0, 105.0) == pytest.approx((10.0, 5.0))
    # a fault phase takes the intervals across its bounds too: all 10 errors
    assert count_between(found, 103.0, 105.0, reaching=True) == pytest.approx((30.0, 10.0))
    assert count_between(found, 103.0, 105.0, proportional=True) == pytest.approx((20.0, 7.5))
    # without the scrape times the sample times stand in, 1.5 s late: errors leak out
    late = intervals(total, part, None, 1.0, 100.0)
    assert count_between(late, 103.0, 105.0, reaching=True) == pytest.approx((20.0, 5.0))


def test_a_reset_counts_its_new_value_and_a_late_process_counts_from_zero():
    total = Series({"instance": "a"}, [100.0, 101.0, 102.0, 103.0], [50.0, 60.0, 4.0, 14.0])
    found = intervals(total, None, None, 1.0, 100.0)
    assert [i.total for i in found] == [10.0, 4.0, 10.0]
    newcomer = Series({"instance": "b"}, [110.0, 111.0], [7.0, 9.0])
    late = intervals(newcomer, None, None, 1.0, 100.0)
    assert [(i.start, i.end, i.total) for i in late] == [(109.0, 110.0, 7.0), (110.0, 111.0, 2.0)]


def test_processes_are_summed_per_group_without_their_process_labels():
    a = Series({"service": "orders", "instance": "1"}, [100.0, 101.0], [0.0, 10.0])
    b = Series({"service": "orders", "instance": "2"}, [100.0, 101.0], [0.0, 30.0])
    c = Series({"service": "risk", "instance": "3"}, [100.0, 101.0], [0.0, 5.0])
    groups = grouped([a, b, c], [], [], 1.0, 100.0)
    assert set(groups) == {(("service", "orders"),), (("service", "risk"),)}
    assert count_between(groups[(("service", "orders"),)], 100.0, 101.0) == (40.0, None)
