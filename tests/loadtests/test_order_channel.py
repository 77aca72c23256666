"""The open-model sender's order channel (``loadtests.order_channel``) against the FAKE
gateway (``loadtests.fakegateway``, its own process): what Locust is told of each
request, and what the sender reads of each answer, must be what ``FastHttpSession``
gives for the same request; a base URL's path is kept, and an order the gateway does not
answer within the network timeout is a failure whose connection is not used again.

The channel runs in a child process, as in a load run: importing Locust patches the
process with gevent, which the test process must not depend on.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import start_fake_gateway, stop_gateway

REPO = Path(__file__).resolve().parents[2]

PROGRAM = r"""
import json, sys
from locust.env import Environment
from locust.contrib.fasthttp import FastHttpSession
from loadtests.order_channel import OrderChannel

url, dead = sys.argv[1], sys.argv[2]
env = Environment()
events = []
env.events.request.add_listener(lambda **kw: events.append(kw))

def seen():
    kw = events.pop()
    assert not events
    exc = kw["exception"]
    return {"request_type": kw["request_type"], "name": kw["name"], "url": kw["url"],
            "response_length": kw["response_length"], "ms": kw["response_time"],
            "exception": None if exc is None else f"{type(exc).__name__}: {exc}",
            "context": kw["context"], "start_time": kw["start_time"]}

def channel(base, key="k1"):
    return OrderChannel(base, "/v1/orders", "/v1/orders",
                        {"X-API-Key": key, "Content-Type": "application/json"},
                        env.events.request, concurrency=4, connection_timeout=2,
                        network_timeout=2)

body = ('{"client_order_id":"c-1","symbol":"AAPL","side":"BUY","type":"LIMIT",'
        '"quantity":10,"price":"100.0000"}')
out = {}
ch = channel(url)
with ch.post(body) as resp:
    out["new"] = {"status": resp.status_code, "order": json.loads(resp.content),
                  "length": len(resp.content),
                  "replayed": resp.headers.get("idempotent-replayed")}
    resp.success()
out["new_event"] = seen()
with ch.post(body.encode()) as resp:  # the same client order id again: a replay
    out["replay"] = {"status": resp.status_code,
                     "replayed": resp.headers.get("Idempotent-Replayed")}
out["replay_event"] = seen()

# the same request through Locust's own session, for the fields it reports
session = FastHttpSession(url, env.events.request, None)
with session.post("/v1/orders", data=body, headers={"X-API-Key": "k1",
                  "Content-Type": "application/json"}, name="/v1/orders",
                  catch_response=True) as resp:
    resp.success()
out["locust_event"] = seen()

with channel(url, key="").post(body) as resp:  # no API key: 401, left unmarked
    out["unmarked_401"] = {"status": resp.status_code, "text": resp.text}
out["unmarked_401_event"] = seen()
with ch.post(body) as resp:
    resp.failure("the order was not acknowledged")
out["failure_event"] = seen()
with channel(dead).post(body) as resp:
    out["refused"] = {"status": resp.status_code, "error": type(resp.error).__name__,
                      "content": resp.content.decode()}
out["refused_event"] = seen()
try:
    with ch.post(body) as resp:
        raise KeyError("the caller's own bug")
except KeyError:
    out["caller_error"] = {"raised": True, "reported": len(events)}
from locust.exception import ResponseError
with ch.post(body) as resp:  # as Locust: a ResponseError raised in the block is the failure
    raise ResponseError("not what was asked")
out["response_error_event"] = seen()
print(json.dumps(out))
"""


#: Against a gateway that answers each new order only after 3 s: a base URL with a
#: path, a timed-out order, and the channel after it.
EDGES = r"""
import json, sys, time
from locust.env import Environment
from locust.contrib.fasthttp import FastHttpSession
from loadtests.order_channel import OrderChannel

url = sys.argv[1]
env = Environment()
events = []
env.events.request.add_listener(lambda **kw: events.append(kw))
headers = {"X-API-Key": "k1", "Content-Type": "application/json"}
body = ('{"client_order_id":"c-9","symbol":"AAPL","side":"BUY","type":"LIMIT",'
        '"quantity":1,"price":"100.0000"}')

def channel(base, timeout):
    return OrderChannel(base, "/v1/orders", "/v1/orders", headers, env.events.request,
                        concurrency=2, connection_timeout=2, network_timeout=timeout)

def event():
    kw = events.pop()
    exc = kw["exception"]
    return {"url": kw["url"], "ms": kw["response_time"],
            "exception": None if exc is None else type(exc).__name__}

out = {}
with channel(url + "/api/", 5).post(body) as resp:  # the base URL's path is kept
    out["prefixed"] = {"status": resp.status_code, "event": None}
out["prefixed"]["event"] = event()
session = FastHttpSession(url + "/api", env.events.request, None)
with session.post("/v1/orders", data=body, headers=headers, catch_response=True) as resp:
    out["locust_prefixed"] = {"status": resp.status_code}
out["locust_prefixed"]["event"] = event()

ch = channel(url, 0.5)
started = time.perf_counter()
with ch.post(body) as resp:  # stored, answered after 3 s: given up on after 0.5 s
    out["timed_out"] = {"status": resp.status_code, "error": type(resp.error).__name__,
                        "s": time.perf_counter() - started}
out["timed_out"]["event"] = event()
with ch.post(body) as resp:  # the same order again: a replay, answered at once
    out["after"] = {"status": resp.status_code,
                    "replayed": resp.headers.get("Idempotent-Replayed")}
out["after"]["event"] = event()
out["left"] = len(events)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def ran() -> Iterator[tuple[dict, str, int]]:
    """The program's findings, the fake's URL and how many orders it received."""
    gw = start_fake_gateway()
    try:
        out = run_program(gw.url)
        yield out, gw.url, gw.orders()["posts"]
    finally:
        stop_gateway(gw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_program(url: str) -> dict:
    dead = f"http://127.0.0.1:{free_port()}"
    out = subprocess.run([sys.executable, "-c", PROGRAM, url, dead], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_orders_and_their_replays_are_read_and_reported_as_locust_reports_them(
    ran: tuple[dict, str, int],
) -> None:
    out, url, posts = ran
    assert out["new"]["status"] == 201
    assert out["new"]["order"]["client_order_id"] == "c-1"
    assert out["new"]["replayed"] is None
    # the replay's header is read whatever its case (the sender's journal depends on it)
    assert out["replay"] == {"status": 200, "replayed": "true"}
    mine, locust = out["new_event"], out["locust_event"]
    assert {k: mine[k] for k in ("request_type", "name", "url", "exception", "context")} == {
        k: locust[k] for k in ("request_type", "name", "url", "exception", "context")}
    assert mine["url"] == url + "/v1/orders"
    assert mine["response_length"] == out["new"]["length"] > 50
    assert 0 < mine["ms"] < 2000 and abs(mine["start_time"] - locust["start_time"]) < 30
    assert out["replay_event"]["exception"] is None  # unmarked, a 200 is a success
    # new, replay, Locust's replay, the failure, the caller's error, the ResponseError
    assert posts == 6


def test_failures_are_reported_like_locust_and_a_callers_error_is_not_swallowed(
    ran: tuple[dict, str, int],
) -> None:
    out = ran[0]
    assert out["unmarked_401"]["status"] == 401
    assert "missing X-API-Key" in out["unmarked_401"]["text"]
    assert out["unmarked_401_event"]["exception"] == "CatchResponseError: HTTP 401"
    assert out["failure_event"]["exception"] == (
        "CatchResponseError: the order was not acknowledged")
    # nothing listening: no answer (status 0), the error kept for the user and for Locust
    assert out["refused"] == {"status": 0, "error": "ConnectionRefusedError", "content": ""}
    assert out["refused_event"]["exception"].startswith("ConnectionRefusedError")
    assert out["refused_event"]["response_length"] == 0
    assert out["caller_error"] == {"raised": True, "reported": 0}
    assert out["response_error_event"]["exception"] == "ResponseError: not what was asked"


def test_a_base_path_is_kept_and_a_silent_gateway_is_given_up_on_at_the_timeout() -> None:
    gw = start_fake_gateway("--stall-every", "1", "--stall-s", "3")
    try:
        out = subprocess.run([sys.executable, "-c", EDGES, gw.url], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr[-3000:]
        found = json.loads(out.stdout.strip().splitlines()[-1])
        posts = gw.orders()["posts"]
    finally:
        stop_gateway(gw)
    # the order went to /api/v1/orders, as Locust's session sends it: the fake knows no such
    # route (404), and both report the same URL
    assert found["prefixed"]["status"] == found["locust_prefixed"]["status"] == 404
    assert found["prefixed"]["event"]["url"] == gw.url + "/api/v1/orders"
    assert found["locust_prefixed"]["event"]["url"] == gw.url + "/api/v1/orders"
    # no answer within the network timeout: status 0, the timeout kept and reported
    timed_out = found["timed_out"]
    assert timed_out["status"] == 0 and timed_out["error"] == "TimeoutError"
    assert 0.4 < timed_out["s"] < 2.5
    assert timed_out["event"]["exception"] == "TimeoutError"
    assert 400 < timed_out["event"]["ms"] < 2500
    # the timed-out connection is not reused: the retry gets the stored order's replay
    after = found["after"]
    assert (after["status"], after["replayed"]) == (200, "true")
    assert after["event"]["exception"] is None and after["event"]["ms"] < 2000
    assert found["left"] == 0  # each request reported once
    assert posts == 2  # orders the fake took: the stalled one and its replay
