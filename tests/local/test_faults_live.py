"""Faults on the real local target: replica kills, proxy faults, a database outage.

All tests share the session's target and leave it healed (``heal()``).
"""

from __future__ import annotations

import json
import statistics
import time

import httpx
import pytest


@pytest.fixture
def target(local_target):
    local_target.heal()
    yield local_target
    local_target.heal()


def _api_key(target) -> str:
    return json.loads(target.accounts_file.read_text())["accounts"][0]["api_key"]


def _fresh_client(timeout: float = 5.0) -> httpx.Client:
    # a new TCP connection per request, so every request is balanced by the proxy
    return httpx.Client(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=0))


def _median_latency(url: str, n: int = 5) -> float:
    times = []
    with _fresh_client() as client:
        for _ in range(n):
            t0 = time.perf_counter()
            client.get(url).raise_for_status()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _replicas(target, service: str) -> list[dict]:
    return httpx.get(f"{target.supervisor_url}/status", timeout=5).json()["services"][service][
        "replicas"]


def test_killed_replica_is_restarted_and_traffic_goes_on(target) -> None:
    before = {r["name"]: r for r in _replicas(target, "gateway")}
    resp = httpx.post(f"{target.supervisor_url}/services/gateway/kill",
                      json={"count": 1, "signal": "SIGKILL"}, timeout=5)
    assert resp.status_code == 200, resp.text
    killed = resp.json()["killed"]
    assert len(killed) == 1 and killed[0]["pid"] == before[killed[0]["name"]]["pid"]

    # while it is down, every request through the proxy still succeeds on the other replica
    key = _api_key(target)
    statuses = []
    with _fresh_client() as client:
        for _ in range(20):
            r = client.get(f"{target.gateway_url}/v1/portfolio", headers={"X-API-Key": key})
            statuses.append(r.status_code)
    assert statuses == [200] * 20

    deadline = time.monotonic() + 30
    while True:
        now = {r["name"]: r for r in _replicas(target, "gateway")}
        victim = now[killed[0]["name"]]
        if victim["ready"] and victim["pid"] != killed[0]["pid"]:
            break
        assert time.monotonic() < deadline, f"not restarted: {victim}"
        time.sleep(0.2)
    assert victim["restarts"] == before[killed[0]["name"]]["restarts"] + 1
    metrics = httpx.get(f"{target.supervisor_url}/metrics", timeout=5).text
    assert 'tradestorm_replica_restarts_total{service="gateway"}' in metrics


def test_latency_fault_adds_the_delay_and_expires(target) -> None:
    url = f"{target.gateway_url}/healthz"
    control = target.proxy_control_url("gateway")
    baseline = _median_latency(url)
    resp = httpx.post(f"{control}/faults",
                      json={"kind": "latency", "latency_ms": 400, "duration_s": 4}, timeout=5)
    assert resp.status_code == 201, resp.text
    fault = resp.json()
    faulted = _median_latency(url, n=3)
    assert faulted - baseline >= 0.38, (baseline, faulted)
    assert faulted - baseline < 1.4, (baseline, faulted)

    time.sleep(max(0.0, fault["expires_at"] - time.time()) + 0.3)
    assert httpx.get(f"{control}/faults", timeout=5).json() == {"faults": []}
    after = _median_latency(url)
    assert after < baseline + 0.2, (baseline, after)


def test_blackhole_makes_callers_time_out_not_hang(target) -> None:
    url = f"{target.gateway_url}/healthz"
    control = target.proxy_control_url("gateway")
    resp = httpx.post(f"{control}/faults", json={"kind": "blackhole", "duration_s": 4}, timeout=5)
    assert resp.status_code == 201
    t0 = time.perf_counter()
    with pytest.raises(httpx.TimeoutException), _fresh_client(timeout=1.0) as client:
        client.get(url)
    elapsed = time.perf_counter() - t0
    assert 0.9 <= elapsed < 2.5, elapsed
    metrics = httpx.get(f"{control}/metrics", timeout=5).text
    assert 'tradestorm_proxy_faults_active{kind="blackhole",service="gateway"} 1.0' in metrics

    time.sleep(max(0.0, resp.json()["expires_at"] - time.time()) + 0.3)
    with _fresh_client() as client:
        assert client.get(url).status_code == 200


def test_database_outage_fails_fast_and_recovers_by_itself(target) -> None:
    key = _api_key(target)
    pids_before = {r["name"]: r["pid"] for r in _replicas(target, "portfolio")}
    resp = httpx.post(f"{target.supervisor_url}/database/stop", timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.json()["database"]["up"] is False
    # the postmaster really is gone
    postgres = next(c for c in target.target.status().components if c.name == "postgres")
    assert not postgres.healthy

    with _fresh_client(timeout=10) as client:
        deadline = time.monotonic() + 10
        while client.get(f"{target.gateway_url}/readyz").status_code != 503:
            assert time.monotonic() < deadline, "gateway still ready without its database"
            time.sleep(0.2)
        t0 = time.perf_counter()
        r = client.get(f"{target.gateway_url}/v1/portfolio", headers={"X-API-Key": key})
        elapsed = time.perf_counter() - t0
    assert r.status_code >= 500, r.text
    assert elapsed < 5.0, f"an outage answer took {elapsed:.1f}s"

    resp = httpx.post(f"{target.supervisor_url}/database/start", timeout=60)
    assert resp.status_code == 200 and resp.json()["database"]["up"] is True
    deadline = time.monotonic() + 30
    with _fresh_client() as client:
        while True:
            r = client.get(f"{target.gateway_url}/v1/portfolio", headers={"X-API-Key": key})
            if r.status_code == 200:
                break
            assert time.monotonic() < deadline, f"not recovered: {r.status_code} {r.text}"
            time.sleep(0.3)
    # recovered on its own: the same processes, no restart needed
    assert {r["name"]: r["pid"] for r in _replicas(target, "portfolio")} == pids_before


def test_a_timed_database_stop_ends_by_itself(target) -> None:
    # what a chaos run killed mid-outage leaves: a stop nobody will ever undo
    bad = httpx.post(f"{target.supervisor_url}/database/stop", json={"duration_s": -1},
                     timeout=10)
    assert bad.status_code == 422 and bad.json()["field"] == "duration_s"
    resp = httpx.post(f"{target.supervisor_url}/database/stop", json={"duration_s": 3},
                      timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.json()["database"]["up"] is False
    assert resp.json()["database"]["desired"] == "stopped"
    assert resp.json()["database"]["resumes_in_s"] is not None
    # nobody calls /database/start: the supervisor starts it once the 3 s have passed
    deadline = time.monotonic() + 60
    while True:
        db = httpx.get(f"{target.supervisor_url}/status", timeout=5).json()["database"]
        if db["up"]:
            break
        assert time.monotonic() < deadline, f"the database did not come back by itself: {db}"
        time.sleep(0.3)
    assert db["desired"] == "running" and db["resumes_in_s"] is None
    postgres = next(c for c in target.target.status().components if c.name == "postgres")
    assert postgres.healthy


def test_prometheus_scrapes_every_target_and_has_the_supervisor_metrics(target) -> None:
    prom = target.prometheus_url
    deadline = time.monotonic() + 20
    while True:
        active = httpx.get(f"{prom}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        down = [t["scrapeUrl"] for t in active if t["health"] != "up"]
        jobs = {t["labels"]["job"] for t in active}
        if not down and len(active) >= 12 + 7 + 1:
            break
        assert time.monotonic() < deadline, f"targets not up: {down}"
        time.sleep(0.5)
    assert {"tradeplat", "tradestorm-supervisor", "tradestorm-proxy"} <= jobs
    replicas = [t for t in active if t["labels"]["job"] == "tradeplat"]
    assert {(t["labels"]["service"], t["labels"]["replica"]) for t in replicas} == {
        (s, f"{s}-{i}") for s in ("gateway", "orders", "risk", "portfolio", "marketdata",
                                  "analytics") for i in (0, 1)}

    def query(q: str) -> list[dict]:
        body = httpx.get(f"{prom}/api/v1/query", params={"query": q}, timeout=5).json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    desired = query("tradestorm_replicas_desired")
    assert {r["metric"]["service"]: r["value"][1] for r in desired} == {
        s: "2" for s in ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics")}
    assert query("tradestorm_database_up")[0]["value"][1] == "1"
    # the SLI recording rules of slo/rules/local.yaml are loaded and evaluated
    deadline = time.monotonic() + 10
    while not query("service:replicas_ready"):
        assert time.monotonic() < deadline, "recording rule service:replicas_ready has no data"
        time.sleep(0.5)
    # the proxies' own metrics are scraped too (eventually equal to their health checks)
    deadline = time.monotonic() + 10
    while True:
        healthy = query('tradestorm_proxy_backends_healthy{service="orders"}')
        if healthy and healthy[0]["value"][1] == "2":
            break
        assert time.monotonic() < deadline, f"proxy metric: {healthy}"
        time.sleep(0.5)


def test_replica_whose_port_was_taken_moves_to_a_new_port(target) -> None:
    import socket

    def gateway_1() -> dict:
        return next(r for r in _replicas(target, "gateway") if r["name"] == "gateway-1")

    def take_port_after_kill() -> tuple[socket.socket | None, dict]:
        """Kill gateway-1 and grab its port before the supervisor restarts it (0.5 s)."""
        victim = gateway_1()
        resp = httpx.post(f"{target.supervisor_url}/services/gateway/kill",
                          json={"replicas": ["gateway-1"]}, timeout=5)
        assert resp.json()["killed"][0]["name"] == "gateway-1"
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 0.45
        while time.monotonic() < deadline:
            try:
                sock.bind(("127.0.0.1", victim["port"]))
                sock.listen()
                return sock, victim
            except OSError:
                time.sleep(0.005)
        sock.close()
        return None, victim

    squatter = None
    for _attempt in range(3):  # on a loaded machine the 0.5 s window can be missed
        squatter, victim = take_port_after_kill()
        if squatter is not None:
            break
        deadline = time.monotonic() + 30
        while not gateway_1()["ready"]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert squatter is not None, "could not take the killed replica's port in 3 attempts"
    try:
        deadline = time.monotonic() + 30
        while True:
            now = gateway_1()
            if now["ready"] and now["port"] != victim["port"]:
                break
            assert time.monotonic() < deadline, f"gateway-1 never came back: {now}"
            time.sleep(0.2)
        assert now["port"] != victim["port"]
        backends = httpx.get(f"{target.proxy_control_url('gateway')}/backends", timeout=5).json()
        moved = next(b for b in backends["backends"] if b["name"] == "gateway-1")
        assert moved["address"] == f"127.0.0.1:{now['port']}"
        assert target.state["services"]["gateway"]["replicas"][1]["port"] == now["port"]
        with _fresh_client() as client:
            assert all(client.get(f"{target.gateway_url}/healthz").status_code == 200
                       for _ in range(6))
        deadline = time.monotonic() + 15
        while True:
            active = httpx.get(f"{target.prometheus_url}/api/v1/targets",
                               timeout=5).json()["data"]["activeTargets"]
            url = next(t["scrapeUrl"] for t in active
                       if t["labels"].get("replica") == "gateway-1")
            if f":{now['port']}/" in url:
                break
            assert time.monotonic() < deadline, f"Prometheus still scrapes {url}"
            time.sleep(0.5)
    finally:
        squatter.close()


def test_crashed_postgres_proxy_and_prometheus_are_restarted(target) -> None:
    import os
    import signal

    state = target.state
    before = httpx.get(f"{target.supervisor_url}/status", timeout=5).json()
    for pid in (state["postgres"]["pid"], state["proxy_process"]["pid"],
                state["prometheus"]["pid"]):
        os.kill(pid, signal.SIGKILL)
    # back means: the supervisor restarted all three, and the gateway answers ready through
    # the new proxy with the new database (a /readyz answered in the instant before the
    # killed processes were gone is not "back": wait for both)
    deadline = time.monotonic() + 40
    restarted = ("database", "proxies", "prometheus")
    with _fresh_client(timeout=3) as client:
        while True:
            after, ready = {}, False
            try:
                after = client.get(f"{target.supervisor_url}/status").json()
                ready = client.get(f"{target.gateway_url}/readyz").status_code == 200
            except httpx.HTTPError:
                pass
            if ready and all(after[part]["restarts"] > before[part]["restarts"]
                             for part in restarted):
                break
            assert time.monotonic() < deadline, f"the platform did not come back: {after}"
            time.sleep(0.3)
    for part in restarted:
        assert after[part]["restarts"] == before[part]["restarts"] + 1, part
    new = target.state
    assert new["postgres"]["pid"] != state["postgres"]["pid"]
    # same addresses as before: clients and the state file stay valid
    assert new["gateway_url"] == state["gateway_url"]
    assert new["prometheus"]["url"] == state["prometheus"]["url"]
    assert new["postgres"]["dsn"] == state["postgres"]["dsn"]


def test_a_proxy_that_cannot_start_says_why_and_comes_back_once_it_can(target) -> None:
    """The proxy's listening port was taken while it was down (another program's socket):
    the status names the exit and what the proxy said, and once the port is free again
    the supervisor's next restart brings every proxy back on its old address."""
    import os
    import signal
    import socket

    state = target.state
    host, port = state["services"]["gateway"]["proxy_url"].removeprefix("http://").split(":")
    os.kill(state["proxy_process"]["pid"], signal.SIGKILL)
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + 5
    while True:  # the port frees once the killed process is gone
        try:
            squatter.bind((host, int(port)))
            squatter.listen()
            break
        except OSError:
            assert time.monotonic() < deadline, "could not take the proxy's port"
            time.sleep(0.005)
    try:
        deadline = time.monotonic() + 30
        while True:
            (proxy,) = [c for c in target.target.status().components
                        if c.name == "proxy/gateway"]
            if "address already in use" in proxy.detail.lower():
                break
            assert time.monotonic() < deadline, f"no reason reported: {proxy.detail!r}"
            time.sleep(0.2)
        assert not proxy.healthy
        assert proxy.detail.startswith("proxy process not running (exited with 2 after "), \
            proxy.detail
        assert f"error: proxy gateway: cannot listen on {host}:{port}: " in proxy.detail
    finally:
        squatter.close()
    deadline = time.monotonic() + 40
    while not target.target.status().healthy:
        assert time.monotonic() < deadline, "the proxy did not come back once its port was free"
        time.sleep(0.3)
    assert target.state["services"]["gateway"]["proxy_url"] == f"http://{host}:{port}"
    assert httpx.get(f"{target.gateway_url}/healthz", timeout=5).status_code == 200
