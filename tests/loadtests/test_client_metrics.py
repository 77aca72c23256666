"""The client metrics are Locust's own statistics, exposed at scrape time.

Locust clears its statistics in two situations (a worker's report to its master,
``--reset-stats``); the counters must not go backwards there, and the rare outcomes
(denied, throttled) must come out of ``ok``. Each case runs in a subprocess of its
own: importing Locust monkey-patches the whole process with gevent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from prometheus_client.parser import text_string_to_metric_families

SETUP = textwrap.dedent("""
    import json, sys
    from locust.env import Environment
    from locust.stats import setup_distributed_stats_event_listeners
    from prometheus_client import generate_latest
    from loadtests.metrics import ClientMetrics

    env = Environment(events=None)
    env.create_local_runner()  # the runner is what records requests into env.stats
    stats = env.stats

    def request(name, ms, method="POST", fail=False):
        env.events.request.fire(request_type=method, name=name, response_time=ms,
                                response_length=10, exception=RuntimeError("x") if fail else None,
                                context={})

    def scrape():
        return generate_latest(metrics.registry).decode()

    metrics = ClientMetrics()
""")


def run_script(body: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SETUP + textwrap.dedent(body)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def requests(found: dict, endpoint: str, method: str, outcome: str,
             route_class: str = "order-entry") -> float | None:
    key = ("tradestorm_client_requests_total",
           (("endpoint", endpoint), ("method", method), ("outcome", outcome),
            ("route_class", route_class)))
    return found.get(key)


def bucket(found: dict, endpoint: str, le: str, route_class: str = "order-entry"
           ) -> float | None:
    return found.get(("tradestorm_client_request_duration_seconds_bucket",
                      (("endpoint", endpoint), ("le", le), ("route_class", route_class))))


def test_outcomes_and_latency_come_from_locusts_statistics() -> None:
    (text,) = run_script("""
        metrics.follow(env)
        for ms in (3, 4.6, 20, 140, 1200):
            request("/v1/orders", ms)
        request("/v1/orders", 30, fail=True)
        metrics.count_outcome("/v1/orders", "POST", "denied")
        metrics.count_outcome("/v1/orders", "POST", "throttled")
        metrics.count_outcome("/v1/orders", "POST", "throttled")
        request("/v1/quotes", 2, method="GET")
        print(json.dumps([scrape()]))
    """)
    found = samples(text)
    assert requests(found, "/v1/orders", "POST", "ok") == 2  # 6 sent - 1 failed - 3 rare
    assert requests(found, "/v1/orders", "POST", "fail") == 1
    assert requests(found, "/v1/orders", "POST", "denied") == 1
    assert requests(found, "/v1/orders", "POST", "throttled") == 2
    assert requests(found, "/v1/quotes", "GET", "ok", "reads") == 1
    # failed requests count in the latency too; 4.6 ms is kept by Locust as 5 ms
    assert bucket(found, "/v1/orders", "0.005") == 2
    assert bucket(found, "/v1/orders", "0.025") == 3
    assert bucket(found, "/v1/orders", "0.05") == 4
    assert bucket(found, "/v1/orders", "0.15") == 5
    assert bucket(found, "/v1/orders", "1.5") == 6
    assert bucket(found, "/v1/orders", "+Inf") == 6
    total = found[("tradestorm_client_request_duration_seconds_sum",
                   (("endpoint", "/v1/orders"), ("route_class", "order-entry")))]
    assert abs(total - (3 + 4.6 + 20 + 140 + 1200 + 30) / 1000) < 1e-9


def test_counters_never_go_back_when_a_worker_reports_or_stats_are_reset() -> None:
    texts = run_script("""
        setup_distributed_stats_event_listeners(env.events, stats)  # as a worker's runner does
        metrics.follow(env)
        for ms in (10, 10, 300):
            request("/v1/orders", ms)
        request("/v1/orders", 10, fail=True)
        first = scrape()
        data = {}
        env.events.report_to_master.fire(client_id="w1", data=data)  # Locust clears its stats
        assert stats.entries[("/v1/orders", "POST")].num_requests == 0, "Locust did not clear"
        assert len(data["stats"]) == 1
        second = scrape()
        request("/v1/orders", 10)
        stats.reset_all()  # --reset-stats, or the web UI's reset
        request("/v1/orders", 2000)
        third = scrape()
        print(json.dumps([first, second, third]))
    """)
    first, second, third = (samples(t) for t in texts)
    assert requests(first, "/v1/orders", "POST", "ok") == 3
    assert requests(second, "/v1/orders", "POST", "ok") == 3  # carried over the report
    assert requests(second, "/v1/orders", "POST", "fail") == 1
    assert bucket(second, "/v1/orders", "0.01") == 3
    assert requests(third, "/v1/orders", "POST", "ok") == 5  # carried over the reset too
    assert requests(third, "/v1/orders", "POST", "fail") == 1
    assert bucket(third, "/v1/orders", "0.01") == 4
    assert bucket(third, "/v1/orders", "2.5") == 6
    assert bucket(third, "/v1/orders", "1.5") == 5


def test_only_the_rare_outcomes_are_counted_apart() -> None:
    (message,) = run_script("""
        try:
            metrics.count_outcome("/v1/orders", "POST", "ok")
        except ValueError as exc:
            print(json.dumps([str(exc)]))
    """)
    assert "denied and throttled" in message


def test_every_request_carries_its_route_class() -> None:
    """The SLO spec judges latency per route class: a cancel (DELETE) and a poll (GET) of the
    same endpoint land in different classes, and analytics' slow requests stay out of order
    entry's histogram."""
    (text,) = run_script("""
        metrics.follow(env)
        request("/v1/orders", 20)
        request("/v1/orders/{order_id}", 15, method="DELETE")
        request("/v1/orders/{order_id}", 8, method="GET")
        for _ in range(3):
            request("/v1/analytics/risk/{symbol}", 900, method="GET")
        request("/v1/marketdata/symbols", 30, method="GET")
        print(json.dumps([scrape()]))
    """)
    found = samples(text)
    assert requests(found, "/v1/orders/{order_id}", "DELETE", "ok") == 1
    assert requests(found, "/v1/orders/{order_id}", "GET", "ok", "reads") == 1
    assert requests(found, "/v1/analytics/risk/{symbol}", "GET", "ok", "analytics") == 3
    assert requests(found, "/v1/marketdata/symbols", "GET", "ok", "reads") == 1
    # one histogram per endpoint and class
    assert bucket(found, "/v1/orders/{order_id}", "+Inf") == 1
    assert bucket(found, "/v1/orders/{order_id}", "+Inf", "reads") == 1
    assert bucket(found, "/v1/analytics/risk/{symbol}", "0.75", "analytics") == 0
    assert bucket(found, "/v1/analytics/risk/{symbol}", "1.0", "analytics") == 3
    order_entry = [v for (name, labels), v in found.items()
                   if name == "tradestorm_client_request_duration_seconds_bucket"
                   and ("route_class", "order-entry") in labels
                   and ("le", "0.025") in labels]
    assert sum(order_entry) == 2  # the submit and the cancel, both fast
    # a closed model: the latency from the intended send time is the sent-time latency
    intended = {(labels, v) for (name, labels), v in found.items()
                if name == "tradestorm_client_request_intended_duration_seconds_bucket"}
    sent = {(labels, v) for (name, labels), v in found.items()
            if name == "tradestorm_client_request_duration_seconds_bucket"}
    assert intended == sent and sent
    classes = {dict(labels).get("route_class") for (name, labels) in found
               if name.startswith("tradestorm_client_request")}
    assert classes == {"order-entry", "reads", "analytics"}
