"""How values read in the report: units a reviewer expects, nothing rounded to a lie."""

from __future__ import annotations

import math

import pytest

from reports import fmt


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (0.118, "s", "118 ms"),
    (1.5, "s", "1.5 s"),
    (0.00005, "s", "0.05 ms"),
    (2950, "ms", "2.95 s"),
    (0.0021, "ratio", "0.21 %"),
    (0.0004, "req/s", "0.0004 req/s"),  # small is not zero
    (12345.678, "req/s", "12,345.7 req/s"),
    (1.0, "up", "up"),
    (0.0, "up", "down"),
    (None, "s", "—"),
    (math.nan, "s", "—"),
])
def test_values_in_their_unit(value, unit, shown):
    assert fmt.value(value, unit) == shown


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.4, "0.4 s"), (11, "11 s"), (120, "2 min"), (126, "2 min 06 s"), (3725, "1 h 02 min"),
    (None, "—"),
])
def test_durations(seconds, shown):
    assert fmt.duration(seconds) == shown


def test_offsets_and_changes():
    assert fmt.offset(1000 + 311, 1000) == "T+5:11"
    assert fmt.offset(990, 1000) == "T-0:10"
    assert fmt.signed_percent(fmt.percent_change(0.5, 0.93)) == "+86.0 %"
    assert fmt.signed_percent(fmt.percent_change(0, 3)) == "new"
    assert fmt.percent_change(0, 0) is None
