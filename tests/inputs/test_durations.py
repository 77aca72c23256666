"""The project's one duration grammar (``inputs.durations``): what it reads, what it
refuses, and that what it writes reads back."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inputs.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0), ("1.5", 1.5), ("1e3", 1000.0), (" 15 ", 15.0), (7, 7.0), (2.5, 2.5),
        (0, 0.0), ("0s", 0.0),
        ("20s", 20.0), ("500ms", 0.5), ("5m", 300.0), ("2h", 7200.0), ("1.5s", 1.5),
        ("1m30s", 90.0), ("1h30m", 5400.0), ("1h 30m 10s", 5410.0), ("1m30.5s", 90.5),
        ("1m5ms", 60.005), ("1h0m0s0ms", 3600.0),
        (" 3 s ", 3.0), ("5 ms", 0.005), ("1 h 2 m", 3720.0),
        ("2H", 7200.0), ("1M30S", 90.0), ("250MS", 0.25),
    ],
)
def test_accepted_forms(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "s", "ms", "20x", "1d", "soon", "1m 30q", "1s2", "1m30",
        "-1s", "-5", "+5s", "1m1m", "30s1m", "5s5ms5s", "5m s", "1e3s", "1_000",
        "nan", "inf", "NaN s", "1e400", float("nan"), float("inf"), -1, -0.5, 10**400,
        True, False, None, [], {"s": 1},
    ],
)
def test_refused_forms(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_the_message_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match=r"expected a duration like 20s, 1m30s or 500ms"):
        parse_duration("twenty")
    with pytest.raises(ValueError, match="zero or more"):
        parse_duration(-3)


def test_format_for_people() -> None:
    assert format_duration(90) == "1m30s"
    assert format_duration(5) == "5s"
    assert format_duration(5.25) == "5.2s"
    assert format_duration(9.96) == "10s"
    assert format_duration(59.6) == "1m00s"
    assert format_duration(3725) == "1h02m05s"
    assert format_duration(-5) == "-5s"
    assert format_duration(4.0, exact=True) == "4s"
    assert format_duration(1e-5, exact=True) == "0.00001s"
    assert format_duration(1e20, exact=True) == "100000000000000000000s"


SECONDS = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=500, deadline=None)
@given(SECONDS)
def test_exact_format_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds, exact=True)) == seconds


@settings(max_examples=500, deadline=None)
@given(SECONDS)
def test_display_format_reads_back_within_what_it_shows(seconds: float) -> None:
    text = format_duration(seconds)
    back = parse_duration(text)
    resolution = 0.05 if seconds < 9.95 else 0.5
    assert abs(back - seconds) <= resolution + 1e-9 * seconds, text
    assert format_duration(back) == text  # a shown duration shows the same again


@settings(max_examples=300, deadline=None)
@given(
    h=st.one_of(st.none(), st.integers(0, 99)),
    m=st.one_of(st.none(), st.integers(0, 59)),
    s=st.one_of(st.none(), st.integers(0, 59)),
    ms=st.one_of(st.none(), st.integers(0, 999)),
    space=st.sampled_from(["", " ", "  "]),
    upper=st.booleans(),
)
def test_any_descending_combination_of_parts(
    h: int | None, m: int | None, s: int | None, ms: int | None, space: str, upper: bool
) -> None:
    parts = [(v, u) for v, u in ((h, "h"), (m, "m"), (s, "s"), (ms, "ms")) if v is not None]
    if not parts:
        return
    text = space.join(f"{v}{u.upper() if upper else u}" for v, u in parts)
    expected = (h or 0) * 3600 + (m or 0) * 60 + (s or 0) + (ms or 0) / 1000
    assert parse_duration(text) == pytest.approx(expected, abs=1e-9)


def test_importing_it_pulls_in_neither_locust_nor_gevent() -> None:
    code = ("import sys, inputs.durations, loadtests.settings; "
            "print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
