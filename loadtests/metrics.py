"""Client-side Prometheus metrics of one load process (docs/contracts.md §2).

``tradestorm_client_requests_total{endpoint,method,route_class,outcome}`` (outcome
``ok``, ``fail``, ``denied`` for a risk rejection, ``throttled`` for HTTP 429),
``tradestorm_client_request_duration_seconds{endpoint,route_class}`` (histogram) and
``tradestorm_client_users``; for arrival-rate (open-model) profiles also
``tradestorm_client_request_intended_duration_seconds{endpoint,route_class}`` (histogram:
latency from the time the schedule meant to send the request; for closed-model profiles,
whose users send when they are ready, it is the same histogram as the sent-time one),
``tradestorm_client_scheduled_sends_total{route_class}`` and
``tradestorm_client_dropped_sends_total{route_class}`` (sends the schedule gave this
process, and those not made because the in-flight bound was reached).
``route_class`` (:func:`route_class`, the client side's only definition of the classes)
is what the SLO spec judges latency by: ``order-entry``, ``reads`` and ``analytics``.
Each load process (local runner or worker) serves its own registry on its own port;
:mod:`loadtests.registration` tells the local Prometheus where.

Nothing runs per request for these (the HDR latency log does: :mod:`loadtests.latency`):
Locust already counts every request, its failures and
its response time per ``(name, method)`` in its own statistics, so the metrics
are built from those statistics at scrape time (a custom collector). A listener
on Locust's ``request`` event cost about 4 µs per request, a tenth of the whole
instrumentation's cost. The users count only the rare outcomes Locust cannot tell
apart from a success (:meth:`ClientMetrics.count_outcome`: ``denied``,
``throttled``); ``ok`` is what remains.

Two things reset Locust's statistics and would make the counters go backwards:
a worker (``--processes N``, ``--worker``) hands its statistics to the master and
clears them every few seconds, and ``--reset-stats`` (or the web UI's reset)
clears them once. Both are followed: what is about to be cleared is carried
into totals of our own first, so the counters only grow.

The latency histogram is built from Locust's response-time table, which keeps
times rounded to about two significant digits (below 100 ms to the millisecond,
then to 10 ms, then to 100 ms above 1 s): a request lands in a neighbouring
bucket only when its time is within that rounding of a bucket bound.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

OUTCOMES = ("ok", "fail", "denied", "throttled")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)
_BUCKETS_MS = tuple(round(b * 1000) for b in BUCKETS)
_LE = (*(repr(b) for b in BUCKETS), "+Inf")

Key = tuple[str, str]  # (endpoint, method): Locust's (name, request type)

#: The route classes the SLO spec judges apart (docs/contracts.md §2). The gateway's own
#: requests are classified the same way by the recording rules of slo/rules/common.yaml.
ROUTE_CLASSES = ("order-entry", "reads", "analytics")
_ORDER_ENTRY = frozenset({("/v1/orders", "POST"), ("/v1/orders/{order_id}", "DELETE")})


def sent_route_classes(open_model: bool) -> list[str]:
    """The route classes a load's users send to: an arrival-rate (open-model) sender sends
    orders only (its one symbol list read at start is not traffic to judge); a closed
    model's traders, market watchers, portfolio viewers and analytics users send to every
    class. ``sends.json`` says which, so the gate does not wait for traffic never sent."""
    return ["order-entry"] if open_model else list(ROUTE_CLASSES)


def route_class(endpoint: str, method: str) -> str:
    """The route class of a request by its endpoint name (path template) and method:
    ``order-entry`` submits and cancels orders, ``analytics`` is ``/v1/analytics/...``
    (CPU-heavy by design), ``reads`` is everything else (orders, portfolio, quotes, symbols,
    candles: every other request the load sends is a GET)."""
    if (endpoint, method.upper()) in _ORDER_ENTRY:
        return "order-entry"
    if endpoint.startswith("/v1/analytics/"):
        return "analytics"
    return "reads"


class _Totals:
    """Requests, failures and latency of one endpoint and method."""

    __slots__ = ("buckets", "failures", "requests", "total_ms")

    def __init__(self) -> None:
        self.requests = 0
        self.failures = 0
        self.total_ms = 0.0
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last one is +Inf

    def add(
        self, requests: int, failures: int, total_ms: float, response_times: Mapping[Any, int]
    ) -> None:
        self.requests += requests
        self.failures += failures
        self.total_ms += total_ms
        buckets = self.buckets
        for ms, count in response_times.items():
            buckets[bisect_left(_BUCKETS_MS, float(ms))] += count

    def merge(self, other: _Totals) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.total_ms += other.total_ms
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]


class _Observed:
    """An intended-time latency histogram kept by the open-model sender itself (seconds)."""

    __slots__ = ("buckets", "total_s")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.total_s = 0.0


class ClientMetrics(Collector):
    """The client metrics, their registry and (once started) their HTTP endpoint."""

    def __init__(self) -> None:
        self._intended: dict[tuple[str, str], _Observed] | None = None  # open model only
        self._sends: Callable[[], Mapping[str, int]] | None = None
        self._stats: Any = None  # Locust's RequestStats, once followed
        self._carried: dict[Key, _Totals] = {}  # what Locust cleared from its statistics
        self._outcomes: dict[tuple[str, str, str], int] = {}  # denied / throttled
        self._users: Callable[[], float] = lambda: 0.0
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self._server: Any = None

    # -- what feeds the metrics -------------------------------------------------
    def follow(self, environment: Any) -> None:
        """Build the metrics from ``environment.stats`` and carry them over Locust's resets."""
        stats = environment.stats
        self._stats = stats
        environment.events.report_to_master.add_listener(self._carry_report)
        reset_all = stats.reset_all

        def carry_then_reset() -> None:
            self._carry_live()
            reset_all()

        stats.reset_all = carry_then_reset  # the instance's, so every caller goes through it

    def _carry_report(self, client_id: str = "", data: dict[str, Any] | None = None,
                      **_: Any) -> None:
        """A worker's report to its master: Locust serializes its statistics into
        ``data["stats"]`` and clears them. Its listener is registered when the runner is
        built, before ours; should ours run first, the live statistics are carried."""
        if data is None or "stats" not in data:
            self._carry_live()
            return
        for entry in data["stats"]:
            self._carry(entry["name"], entry["method"], entry["num_requests"],
                        entry["num_failures"], entry["total_response_time"],
                        entry["response_times"])

    def _carry_live(self) -> None:
        for entry in list(self._stats.entries.values()):
            self._carry(entry.name, entry.method, entry.num_requests, entry.num_failures,
                        entry.total_response_time, entry.response_times)

    def _carry(self, name: str, method: str, requests: int, failures: int, total_ms: float,
               response_times: Mapping[Any, int]) -> None:
        if not requests and not failures:
            return
        totals = self._carried.get((name, method))
        if totals is None:
            totals = self._carried[(name, method)] = _Totals()
        totals.add(requests, failures, total_ms, response_times)

    def count_outcome(self, endpoint: str, method: str, outcome: str) -> None:
        """Count a request that Locust records as a success but was ``denied`` or
        ``throttled`` (the rare paths; nothing is needed for ``ok`` and ``fail``)."""
        if outcome not in ("denied", "throttled"):
            raise ValueError(f"only denied and throttled are counted apart, not {outcome!r}")
        key = (endpoint, method, outcome)
        self._outcomes[key] = self._outcomes.get(key, 0) + 1

    def observe_intended(self, endpoint: str, route_class: str, seconds: float) -> None:
        """An open-model answer's latency from its intended send time."""
        if self._intended is None:
            self._intended = {}
        observed = self._intended.get((endpoint, route_class))
        if observed is None:
            observed = self._intended[(endpoint, route_class)] = _Observed()
        observed.buckets[bisect_left(BUCKETS, seconds)] += 1
        observed.total_s += seconds

    def track_sends(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """An open model: report ``counts()`` (``scheduled``, ``dropped``) at every scrape,
        and the intended-time latency from :meth:`observe_intended`."""
        self._sends = counts
        if self._intended is None:
            self._intended = {}

    def track_users(self, count: Callable[[], float]) -> None:
        """Report ``count()`` as the users gauge at every scrape."""
        self._users = count

    # -- the scrape --------------------------------------------------------------
    def totals(self) -> dict[Key, _Totals]:
        """Everything since the process started: carried totals plus Locust's live ones."""
        merged: dict[Key, _Totals] = {}
        for key, carried in self._carried.items():
            merged[key] = _Totals()
            merged[key].merge(carried)
        if self._stats is not None:
            for (name, method), entry in list(self._stats.entries.items()):
                if not entry.num_requests and not entry.num_failures:
                    continue
                totals = merged.get((name, method))
                if totals is None:
                    totals = merged[(name, method)] = _Totals()
                totals.add(entry.num_requests, entry.num_failures, entry.total_response_time,
                           entry.response_times)
        return merged

    def collect(self) -> Iterator[Any]:
        totals = self.totals()
        requests = CounterMetricFamily(
            "tradestorm_client_requests",
            "Requests sent by the load generator, by outcome",
            labels=["endpoint", "method", "route_class", "outcome"],
        )
        outcomes = self._outcomes
        for (endpoint, method), t in sorted(totals.items()):
            cls = route_class(endpoint, method)
            denied = outcomes.get((endpoint, method, "denied"), 0)
            throttled = outcomes.get((endpoint, method, "throttled"), 0)
            counts = {
                "ok": max(0, t.requests - t.failures - denied - throttled),
                "fail": t.failures,
                "denied": denied,
                "throttled": throttled,
            }
            for outcome in OUTCOMES:
                if counts[outcome]:
                    requests.add_metric([endpoint, method, cls, outcome], counts[outcome])
        yield requests
        duration = HistogramMetricFamily(
            "tradestorm_client_request_duration_seconds",
            "Latency seen by the load generator (failed requests included)",
            labels=["endpoint", "route_class"],
        )
        # one histogram per endpoint and class (``/v1/orders/{order_id}`` is a cancel, DELETE,
        # and a poll, GET: two classes)
        by_endpoint: dict[tuple[str, str], _Totals] = {}
        for (endpoint, method), t in totals.items():
            key = (endpoint, route_class(endpoint, method))
            by_endpoint.setdefault(key, _Totals()).merge(t)
        for (endpoint, cls), t in sorted(by_endpoint.items()):
            cumulative, running = [], 0
            for le, count in zip(_LE, t.buckets, strict=True):
                running += count
                cumulative.append((le, running))
            duration.add_metric([endpoint, cls], cumulative, t.total_ms / 1000.0)
        yield duration
        intended = HistogramMetricFamily(
            "tradestorm_client_request_intended_duration_seconds",
            "Latency from the time the schedule meant to send the request (arrival-rate "
            "profiles); the sent-time latency for closed-model profiles",
            labels=["endpoint", "route_class"],
        )
        if self._intended is None:  # a closed model: intended == sent
            intended.samples = [s._replace(name=s.name.replace(
                "tradestorm_client_request_duration_seconds",
                "tradestorm_client_request_intended_duration_seconds")) for s in duration.samples]
        else:
            for (endpoint, cls), observed in sorted(self._intended.items()):
                cumulative, running = [], 0
                for le, count in zip(_LE, observed.buckets, strict=True):
                    running += count
                    cumulative.append((le, running))
                intended.add_metric([endpoint, cls], cumulative, observed.total_s)
        yield intended
        if self._sends is not None:
            counts = self._sends()
            for name, key, text in (
                ("tradestorm_client_scheduled_sends", "scheduled",
                 "Sends the arrival-rate schedule gave this load process (made or dropped)"),
                ("tradestorm_client_dropped_sends", "dropped",
                 "Scheduled sends not made because the in-flight bound was reached"),
            ):
                family = CounterMetricFamily(name, text, labels=["route_class"])
                family.add_metric(["order-entry"], float(counts.get(key, 0)))
                yield family
        yield GaugeMetricFamily(
            "tradestorm_client_users",
            "Users running in this load process",
            value=float(self._users()),
        )

    # -- the endpoint --------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Serve ``/metrics`` from a gevent WSGI server; returns the bound ``(host, port)``."""
        from gevent.pywsgi import WSGIServer

        if self._server is None:
            self._server = WSGIServer(
                (host, port), make_wsgi_app(self.registry), log=None, error_log=None
            )
            self._server.start()
        return self._server.address[0], int(self._server.address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None
