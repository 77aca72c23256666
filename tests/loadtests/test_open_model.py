"""The open-model (arrival-rate) load generator, in real headless Locust runs.

Every run here goes against ``loadtests.fakegateway``, a FAKE gateway in its own
process, not the platform: these tests need a stall that is exact (one 2-second
stall, opened by a chosen order, holding exactly the requests that arrive while
it lasts, and counting them) and a server that never is the bottleneck, which a
real platform cannot promise. What is checked is what a user of the load
generator sees: the HDR latency log (``latency.hlog``), ``sends.json``, the
order journals, the client metrics, the fake's own count of what it received.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FakeGatewayProcess, start_fake_gateway, stop_gateway
from control_helpers import wait_for

from loadtests.arrival import make_schedule, parse_stages
from loadtests.latency_log import read_totals
from loadtests.launcher import start_load
from loadtests.rate_split import LEAD_S
from loadtests.results import summarize

STALL_S = 2.0
TWO_S_US = 2_000_000


@pytest.fixture
def gateways() -> Iterator[list[FakeGatewayProcess]]:
    started: list[FakeGatewayProcess] = []
    yield started
    for gw in started:
        stop_gateway(gw)


def gateway(started: list[FakeGatewayProcess], *args: str) -> FakeGatewayProcess:
    gw = start_fake_gateway(*args)
    started.append(gw)
    return gw


def run_load(profile: str, gw: FakeGatewayProcess, accounts: Path, results: Path,
             **kwargs: object) -> None:
    run = start_load(profile, host=gw.url, accounts_file=accounts, results_dir=results,
                     **kwargs)  # type: ignore[arg-type]
    try:
        code = run.wait(timeout_s=float(kwargs["duration_s"]) + 60)  # type: ignore[arg-type]
    finally:
        run.stop()
    assert code == 0, (results / "logs" / "locust.log").read_text()[-3000:]


def journal_submits(results: Path) -> dict[str, list[float]]:
    """Per journal file, the times of its order submissions."""
    out = {}
    for path in sorted((results / "journal").glob("orders-*.jsonl")):
        records = [json.loads(line) for line in path.read_text().splitlines()]
        out[path.name] = [r["t"] for r in records if r["kind"] == "submit"]
    return out


def at_least(histogram, value_us: int) -> int:
    """How many recorded values are >= ``value_us``."""
    return sum(item.count_at_value_iterated_to for item in histogram.get_recorded_iterator()
               if item.value_iterated_to >= value_us)


def sends(results: Path) -> dict:
    return json.loads((results / "sends.json").read_text())


def test_closed_model_p99_misses_the_stall_the_open_model_shows(
    gateways: list[FakeGatewayProcess], fake_accounts: Path, tmp_path: Path
) -> None:
    rate, stall_after = 50.0, 150
    # the stall holds every request arriving within 2.01 s of the 150th order for 2 s: at
    # 50 orders/s the window ends between two scheduled sends (every 20 ms), so which
    # sends it holds is decided by the schedule, not by a millisecond of jitter
    window = STALL_S + 0.5 / rate
    stall = ("--stall-once-after", str(stall_after), "--stall-once-s", str(STALL_S),
             "--stall-window-s", str(window))

    # closed model: one user paced at 50 iterations/s; while it waits, nothing is sent
    closed_gw = gateway(gateways, *stall)
    closed = tmp_path / "closed"
    run_load("steady", closed_gw, fake_accounts, closed, duration_s=16, users=1, rate=rate)
    assert closed_gw.orders()["stall_window"] is not None, "the closed run never stalled"
    closed_log = read_totals(closed / "latency.hlog")
    sent, intended = closed_log["sent.all"], closed_log["intended.all"]
    assert intended.get_max_value() >= TWO_S_US  # a request did wait through the stall...
    assert intended.get_value_at_percentile(99) < TWO_S_US  # ...and p99 does not show it
    assert intended.get_total_count() == sent.get_total_count()
    assert intended.get_value_at_percentile(99) == sent.get_value_at_percentile(99)
    assert at_least(intended, TWO_S_US) <= 3  # the sends the schedule wanted were not made
    assert summarize(closed).model == "closed"

    # open model: the same stall at 50 orders/s, room for every order in flight
    open_gw = gateway(gateways, *stall)
    opened = tmp_path / "open"
    run_load("constant-arrival-rate", open_gw, fake_accounts, opened, duration_s=16,
             users=300, rate=rate)
    fake = open_gw.orders()
    implied = int(window * rate) + 1  # scheduled sends in the stall window: 101
    assert fake["stalled_orders"] == implied
    log = read_totals(opened / "latency.hlog")
    corrected = log["intended.all"]
    assert corrected.get_value_at_percentile(99) >= TWO_S_US
    assert at_least(corrected, TWO_S_US) == implied
    assert at_least(log["intended.order-entry"], TWO_S_US) == implied
    counts = sends(opened)
    assert counts["dropped"] == 0 and counts["sent"] == counts["scheduled"]
    summary = summarize(opened)
    assert summary.model == "open" and summary.dropped_sends == 0
    assert summary.p99_intended_ms is not None and summary.p99_intended_ms >= 2000


def scrape_registered(state: Path) -> str:
    target = wait_for(lambda: next(iter((state / "prometheus" / "targets").glob("load-*.json")),
                                   None))
    address = json.loads(target.read_text())[0]["targets"][0]
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as resp:
        return resp.read().decode()


def test_the_rate_holds_within_2_percent_over_30_s_at_200_per_second(
    gateways: list[FakeGatewayProcess], fake_accounts: Path, tmp_path: Path
) -> None:
    gw = gateway(gateways)
    results, state = tmp_path / "r", tmp_path / "state"
    rate, duration = 200.0, 30.0 + LEAD_S
    run = start_load("constant-arrival-rate", host=gw.url, accounts_file=fake_accounts,
                     results_dir=results, duration_s=duration, users=100, rate=rate,
                     state_dir=state)
    try:
        intended_line = ('tradestorm_client_request_intended_duration_seconds_bucket{'
                         'endpoint="/v1/orders",le="+Inf",route_class="order-entry"}')
        text = wait_for(lambda: next((t for t in [scrape_registered(state)]
                                      if intended_line in t), None), timeout=20)
        assert 'tradestorm_client_dropped_sends_total{route_class="order-entry"} 0.0' in text
        assert 'tradestorm_client_scheduled_sends_total{route_class="order-entry"}' in text
        assert run.wait(timeout_s=duration + 60) == 0
    finally:
        run.stop()
    schedule = make_schedule("constant-arrival-rate", rate=rate, duration_s=duration)
    expected = schedule.count_between(LEAD_S, duration)  # 6000 sends in the 30 s
    counts = sends(results)
    made = counts["sent"]
    assert counts["dropped"] == 0
    assert abs(made - expected) <= 0.02 * expected, (made, expected)
    assert made == counts["scheduled"]
    assert gw.orders()["posts"] == made  # every send the generator counts reached the server
    [submits] = journal_submits(results).values()
    assert len(submits) == made
    # sends against the schedule, in 10-second windows from the first send
    first = submits[0]
    for start in (0.0, 10.0, 20.0):
        window = [t for t in submits if start <= t - first < start + 10.0]
        assert abs(len(window) - 10 * rate) <= 0.02 * 10 * rate, (start, len(window))


def test_two_workers_split_the_rate_exactly(
    gateways: list[FakeGatewayProcess], fake_accounts: Path, tmp_path: Path
) -> None:
    gw = gateway(gateways)
    results = tmp_path / "r"
    run_load("ramping-arrival-rate", gw, fake_accounts, results, duration_s=9,
             users=40, rate_stages="0s-5s:20-120,5s-9s:120", processes=2)
    counts = sends(results)
    per_process = [c["scheduled"] for c in counts["by_process"].values()]
    assert len(per_process) == 2
    assert abs(per_process[0] - per_process[1]) <= 1  # every other send each
    schedule = make_schedule("ramping-arrival-rate", rate=0, duration_s=9,
                             stages=parse_stages("0s-5s:20-120,5s-9s:120"))
    expected = schedule.count_between(LEAD_S, 9)
    # the last send may fall after Locust's own stop (its shape is polled once a second)
    assert expected - 2 <= sum(per_process) <= expected
    assert counts["dropped"] == 0 and counts["sent"] == sum(per_process)
    submits = journal_submits(results)
    assert sorted(len(t) for t in submits.values()) == sorted(per_process)
    assert gw.orders()["posts"] == sum(per_process)
    # together they make one schedule: no send twice, none skipped (a gap would be a
    # missing slot: the ramp's slowest spacing is 1/20 s)
    merged = sorted(t for times in submits.values() for t in times)
    gaps = [b - a for a, b in zip(merged, merged[1:], strict=False)]
    assert max(gaps) < 1 / 20 + 0.03


def test_sends_over_the_in_flight_bound_are_dropped_counted_and_shown(
    gateways: list[FakeGatewayProcess], fake_accounts: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from tradestorm.cli import cli

    rate, bound = 50, 5
    gw = gateway(gateways, "--stall-once-after", "100", "--stall-once-s", str(STALL_S))
    results = tmp_path / "r"
    out = CliRunner().invoke(cli, [
        "load", "--profile", "constant-arrival-rate", "--rate", str(rate),
        "--max-in-flight", str(bound), "--duration", "10s", "--host", gw.url,
        "--accounts", str(fake_accounts), "--results", str(results),
    ], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    counts = sends(results)
    # while the stall holds ``bound`` orders for 2 s, the sends due meanwhile are dropped:
    # the schedule puts 100 in the 2 s, the first ``bound`` of them got out
    implied = int(STALL_S * rate) - bound
    assert abs(counts["dropped"] - implied) <= 2, counts
    assert counts["sent"] + counts["dropped"] == counts["scheduled"]
    assert gw.orders()["posts"] == counts["sent"]  # a dropped send is never made later
    assert f"{counts['dropped']} of {counts['scheduled']} scheduled sends DROPPED" in " ".join(
        out.output.split())
    assert f"{counts['scheduled']} sends scheduled, {counts['dropped']} dropped" in " ".join(
        out.output.split())  # the summary
    assert summarize(results).dropped_sends == counts["dropped"]
    log = (results / "logs" / "locust.log").read_text()
    assert f"{counts['dropped']} DROPPED" in log


def test_orders_closer_than_the_send_tick_go_together_at_most_a_tick_late(
    gateways: list[FakeGatewayProcess], fake_accounts: Path, tmp_path: Path
) -> None:
    """At 1000 orders/s (one a millisecond) a 20 ms tick sends them in groups: each order is
    up to 20 ms late, about 10 ms on average, and its intended-time latency says so; with the
    tick off they go on time."""
    gw = gateway(gateways)
    rate, duration, tick_ms = 1000.0, 4.0 + LEAD_S, 20
    lateness = {}
    for tick in (f"{tick_ms}ms", "0"):
        results = tmp_path / f"tick-{tick}"
        run_load("constant-arrival-rate", gw, fake_accounts, results, duration_s=duration,
                 users=200, rate=rate, send_tick=tick)
        counts = sends(results)
        assert counts["send_tick_s"] == (tick_ms / 1000 if tick != "0" else 0.0)
        assert counts["dropped"] == 0 and counts["sent"] == counts["scheduled"]
        expected = make_schedule("constant-arrival-rate", rate=rate,
                                 duration_s=duration).count_between(LEAD_S, duration)
        assert abs(counts["sent"] - expected) <= 0.02 * expected  # the rate is the same
        log = read_totals(results / "latency.hlog")
        sent, intended = log["sent.all"], log["intended.all"]
        lateness[tick] = {q: (intended.get_value_at_percentile(q)
                              - sent.get_value_at_percentile(q)) / 1000.0 for q in (50, 90)}
    ticked, exact = lateness[f"{tick_ms}ms"], lateness["0"]
    assert 0.3 * tick_ms <= ticked[50] <= 0.7 * tick_ms, lateness  # ~half a tick on average
    assert ticked[90] <= tick_ms + 3, lateness
    assert exact[50] < 3 and exact[90] < 5, lateness  # on time without a tick
    assert ticked[50] > exact[50] + 0.3 * tick_ms, lateness


def test_credentials_in_the_host_url_become_basic_auth_on_every_order(
    gateways: list[FakeGatewayProcess], fake_accounts: Path, tmp_path: Path
) -> None:
    """As Locust's own session does: ``http://user:pass@gateway`` (percent-encoded) sends
    ``Authorization: Basic …`` and leaves the credentials out of the URL it reports."""
    import base64

    gw = gateway(gateways)
    results = tmp_path / "r"
    host = gw.url.replace("http://", "http://trader:s%40cret@")
    run = start_load("constant-arrival-rate", host=host, accounts_file=fake_accounts,
                     results_dir=results, duration_s=3, users=5, rate=20)
    try:
        assert run.wait(timeout_s=60) == 0, (results / "logs" / "locust.log").read_text()[-3000:]
    finally:
        run.stop()
    seen = gw.orders()
    expected = "Basic " + base64.b64encode(b"trader:s@cret").decode()
    assert seen["posts"] > 0 and seen["authorizations"] == {expected: seen["posts"]}
    assert sends(results)["sent"] == seen["posts"]
