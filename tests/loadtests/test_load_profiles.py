"""Each profile produces the shape it promises: the closed models through the Locust
shape's tick() over simulated time (the real-run check is in test_load_run.py), the
arrival-rate ones through their schedule of send times (real runs: test_open_model.py).

The shape is a Locust class, and importing Locust monkey-patches the process
with gevent, so the ticks are taken in a child process, never in pytest's.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import pytest

from loadtests.arrival import make_schedule, parse_stages
from loadtests.errors import ConfigError
from loadtests.profiles import PROFILE_NAMES, PROFILES, make_profile

DURATION = 100.0

TICKER = """
import json, sys
from loadtests.profiles import make_profile
from loadtests.shape import ProfileShape
out = []
for name, users, duration, step in json.loads(sys.argv[1]):
    shape = ProfileShape(make_profile(name, users, duration))
    clock = {"t": 0.0}
    shape.get_run_time = lambda: clock["t"]  # simulated time
    samples, t = [], 0.0
    while t < duration:
        clock["t"] = t
        tick = shape.tick()
        assert [c.__name__ for c in tick[2]] == [
            "Trader", "MarketWatcher", "PortfolioViewer", "AnalyticsUser"]
        samples.append([t, list(tick[:2])])
        t += step
    clock["t"] = duration
    out.append({"samples": samples, "end": shape.tick()})
print(json.dumps(out))
"""

SPECS = [(name, 20, DURATION, 0.5) for name in sorted(PROFILES)] + [
    ("steady", 25, DURATION, 0.5),
    ("ramp", 41, DURATION, 0.5),
    ("soak", 30, 3600.0, 5.0),
    ("soak", 30, DURATION, 0.5),
]


def tick_in_child(specs):
    out = subprocess.run(
        [sys.executable, "-c", TICKER, json.dumps(specs)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


@functools.cache
def all_ticks():
    return dict(zip(SPECS, tick_in_child(SPECS), strict=True))


def simulate(name: str, users: int, duration: float = DURATION, step: float = 0.5):
    """[(t, users)] from ProfileShape.tick() at simulated times, and what it says at the end."""
    doc = all_ticks()[(name, users, duration, step)]
    samples = []
    for t, tick in doc["samples"]:
        assert tick is not None, f"{name} ended early at {t}"
        count, rate = tick
        assert rate >= 1
        samples.append((t, count))
    return samples, doc["end"]


def users_between(samples, start: float, end: float) -> set[int]:
    return {u for t, u in samples if start <= t < end}


def test_every_closed_profile_ends_after_its_duration() -> None:
    for name in PROFILES:
        samples, end = simulate(name, 20)
        assert end is None, name
        assert all(1 <= u <= 20 for _, u in samples), name


def test_steady_holds_the_target() -> None:
    samples, _ = simulate("steady", 25)
    assert users_between(samples, 0, DURATION) == {25}


def test_ramp_climbs_linearly_then_holds() -> None:
    samples, _ = simulate("ramp", 41)
    counts = [u for _, u in samples]
    assert counts[0] == 1
    assert counts == sorted(counts)  # never goes down
    assert users_between(samples, 45, 45.5) == {21}  # halfway up 90 s: 1 + 40/2
    assert users_between(samples, 90, DURATION) == {41}
    assert max(u for t, u in samples if t < 89) < 41


def sends_per_second(name: str, rate: float, duration: float = DURATION, **kw) -> list[int]:
    """Scheduled sends in each second of an arrival-rate profile."""
    schedule = make_schedule(name, rate=rate, duration_s=duration, **kw)
    return [schedule.count_between(t, t + 1) for t in range(int(duration))]


def test_closed_and_arrival_rate_profiles_are_all_known() -> None:
    assert set(PROFILES) == {"steady", "ramp", "soak"}  # the closed models
    assert set(PROFILE_NAMES) == set(PROFILES) | {
        "constant-arrival-rate", "ramping-arrival-rate", "spike", "market-open"}


def test_constant_arrival_rate_sends_the_rate_every_second() -> None:
    assert set(sends_per_second("constant-arrival-rate", 37.0)) == {37}


def test_spike_is_base_rate_then_peak_then_base() -> None:
    per_s = sends_per_second("spike", 50.0)
    assert set(per_s[:40]) == {10}
    assert set(per_s[40:60]) == {50}
    assert set(per_s[60:]) == {10}


def test_market_open_bursts_at_the_open_then_decays() -> None:
    per_s = sends_per_second("market-open", 100.0)
    assert set(per_s[:10]) == {10}  # pre-market
    assert per_s[10] >= 97  # the open: the full rate at once
    after = per_s[10:]
    assert all(b <= a + 1 for a, b in zip(after, after[1:], strict=False))  # decays
    assert abs(per_s[30] - (30 + 70 * 0.36787944)) <= 2  # one tau later
    assert max(per_s[95:]) <= 32  # settles near 30 %


def test_ramping_arrival_rate_follows_its_stages() -> None:
    stages = parse_stages("0s-10s:0-100,10s-20s:100,30s-40s:50")
    per_s = sends_per_second("ramping-arrival-rate", 0, duration=50, stages=stages)
    assert per_s[0] <= 6 and 94 <= per_s[9] <= 100  # the ramp
    assert set(per_s[10:20]) == {100}
    assert set(per_s[20:30]) == {0}  # a gap between stages: nothing sent
    assert set(per_s[30:40]) == {50}
    assert sum(per_s[:10]) in (500, 501)  # the ramp's area
    default = sends_per_second("ramping-arrival-rate", 90.0)  # no stages: 0 -> R over 90 %
    assert default[89] >= 88 and set(default[90:]) == {90}


def test_send_times_are_absolute_and_never_drift() -> None:
    schedule = make_schedule("constant-arrival-rate", rate=3.0, duration_s=3600)
    assert schedule.time_of(3 * 3599) == pytest.approx(3599.0, abs=1e-9)
    assert schedule.time_of(3 * 3600) is None  # past the end


def test_soak_ramps_for_at_most_a_minute_then_holds() -> None:
    samples, _ = simulate("soak", 30, duration=3600, step=5)
    assert users_between(samples, 0, 1) == {1}
    assert users_between(samples, 60, 3600) == {30}
    short, _ = simulate("soak", 30, duration=100)
    assert users_between(short, 10, 100) == {30}  # 10 % of a short run
    assert max(users_between(short, 0, 9.5)) < 30


def test_profiles_repeat_exactly() -> None:
    assert tick_in_child(SPECS) == [all_ticks()[spec] for spec in SPECS]  # another process


@pytest.mark.parametrize(
    ("name", "users", "duration", "field"),
    [
        ("tsunami", 10, 10, "name"),
        ("steady", 0, 10, "users"),
        ("steady", 2.5, 10, "users"),
        ("soak", 10, 0, "duration"),
        ("ramp", 10, float("inf"), "duration"),
    ],
)
def test_bad_profile_parameters_name_the_field(name, users, duration, field) -> None:
    with pytest.raises(ConfigError) as info:
        make_profile(name, users, duration)
    assert info.value.field == field
    if field == "name":
        assert "market-open" in str(info.value)  # lists the known profiles
