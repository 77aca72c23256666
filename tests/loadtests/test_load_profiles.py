"""Each profile produces the shape it promises, checked through the Locust shape's
tick() over simulated time (the real-run check is in test_load_run.py).

The shape is a Locust class, and importing Locust monkey-patches the process
with gevent, so the ticks are taken in a child process, never in pytest's.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import pytest

from loadtests.errors import ConfigError
from loadtests.profiles import PROFILES, make_profile

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
        samples.append([t, shape.tick()])
        t += step
    clock["t"] = duration
    out.append({"samples": samples, "end": shape.tick()})
print(json.dumps(out))
"""

SPECS = [(name, 20, DURATION, 0.5) for name in sorted(PROFILES)] + [
    ("steady", 25, DURATION, 0.5),
    ("ramp", 41, DURATION, 0.5),
    ("spike", 50, DURATION, 0.5),
    ("market-open", 100, DURATION, 0.5),
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


def test_every_profile_ends_after_its_duration() -> None:
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


def test_spike_is_base_then_peak_then_base() -> None:
    samples, _ = simulate("spike", 50)
    assert users_between(samples, 0, 40) == {10}
    assert users_between(samples, 40, 60) == {50}
    assert users_between(samples, 60, DURATION) == {10}


def test_market_open_bursts_at_the_open_then_decays() -> None:
    samples, _ = simulate("market-open", 100)
    assert users_between(samples, 0, 10) == {10}  # pre-market
    assert users_between(samples, 10, 10.5) == {100}  # the open: everyone at once
    after = [u for t, u in samples if t >= 10]
    assert after == sorted(after, reverse=True)  # decays, never climbs again
    assert users_between(samples, 30, 30.5) == {round(30 + 70 * 0.36787944)}  # one tau later
    assert max(users_between(samples, 95, DURATION)) <= 32  # settles near 30 %


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
        ("spike", 10, 0, "duration"),
        ("ramp", 10, float("inf"), "duration"),
    ],
)
def test_bad_profile_parameters_name_the_field(name, users, duration, field) -> None:
    with pytest.raises(ConfigError) as info:
        make_profile(name, users, duration)
    assert info.value.field == field
    if field == "name":
        assert "market-open" in str(info.value)  # lists the known profiles
