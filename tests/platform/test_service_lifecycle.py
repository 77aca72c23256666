"""What an operator sees of a replica's life: configuration errors, migrations
at start, request ids across hops, route-labelled metrics, a responsive event
loop under CPU load, and graceful shutdown on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from platform_helpers import LivePlatform, db_query

TRADEPLAT = [sys.executable, "-m", "tradeplat"]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPLAT_")}
    env.update(extra)
    return env


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "TRADEPLAT_DATABASE_URL"),
        ({"TRADEPLAT_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
          "TRADEPLAT_CALL_TIMEOUT_S": "soon"}, "TRADEPLAT_CALL_TIMEOUT_S"),
        ({"TRADEPLAT_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
          "TRADEPLAT_DB_POOL_MAX": "0"}, "TRADEPLAT_DB_POOL_MAX"),
        ({"TRADEPLAT_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
          "TRADEPLAT_CALL_TIMEOUT_S": "nan"}, "TRADEPLAT_CALL_TIMEOUT_S"),
        ({"TRADEPLAT_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
          "TRADEPLAT_GRACEFUL_SHUTDOWN_S": "inf"}, "TRADEPLAT_GRACEFUL_SHUTDOWN_S"),
        ({"TRADEPLAT_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
          "TRADEPLAT_RISK_MARKET_COLLAR_PCT": "100"}, "TRADEPLAT_RISK_MARKET_COLLAR_PCT"),
    ],
)
def test_bad_configuration_exits_2_naming_the_variable(env: dict[str, str], named: str) -> None:
    done = subprocess.run([*TRADEPLAT, "orders", "--port", "1"], env=_clean_env(**env),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert named in done.stderr


def test_concurrent_migrations_apply_each_version_once(
    make_database: Callable[[str], str],
) -> None:
    dsn = make_database("mig")
    procs = [subprocess.Popen([*TRADEPLAT, "migrate"], env=_clean_env(TRADEPLAT_DATABASE_URL=dsn),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    applied = sorted((json.loads(out)["applied"] for out, _ in outputs), key=len)
    # One process applied everything while holding the lock; the others found nothing to do.
    assert applied[0] == applied[1] == [] and len(applied[2]) >= 2, applied
    versions = db_query(dsn, "SELECT version FROM schema_migrations ORDER BY 1")
    assert [r["version"] for r in versions] == applied[2]


def test_seed_creates_then_reuses_accounts_with_working_keys(live: LivePlatform) -> None:
    env = _clean_env(TRADEPLAT_DATABASE_URL=live.dsn)

    def seed() -> list[dict[str, str]]:
        done = subprocess.run([*TRADEPLAT, "seed", "--accounts", "2", "--cash", "5000",
                               "--shares", "7"], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["accounts"]  # type: ignore[no-any-return]

    first, second = seed(), seed()
    assert [a["name"] for a in first] == ["loadtest-0001", "loadtest-0002"]
    assert [a["account_id"] for a in second] == [a["account_id"] for a in first]
    with httpx.Client(base_url=live.gateway_url, timeout=10) as gw:
        r = gw.get("/v1/portfolio", headers={"X-API-Key": second[0]["api_key"]})
        assert r.status_code == 200
        body = r.json()
    assert body["cash"] == "5000.0000"
    assert {p["quantity"] for p in body["positions"]} == {7}


def test_request_id_follows_the_order_across_services(live: LivePlatform) -> None:
    account = live.create_account()
    rid = "trace-" + uuid.uuid4().hex
    with httpx.Client(base_url=live.gateway_url, timeout=10) as gw:
        r = gw.post("/v1/orders", headers={**account.headers, "X-Request-ID": rid},
                    json={"client_order_id": uuid.uuid4().hex, "symbol": "GOOG",
                          "side": "BUY", "type": "LIMIT", "quantity": 1, "price": "1.00"})
        assert r.status_code == 201 and r.headers["X-Request-ID"] == rid
        replay = gw.post("/v1/orders", headers=account.headers, json=json.loads(
            r.request.content))
        assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json()["order_id"] == r.json()["order_id"]
        generated = gw.get("/v1/orders", headers=account.headers).headers["X-Request-ID"]
        assert len(generated) >= 16
    time.sleep(0.3)  # let the log lines reach the files
    for service in ("gateway", "orders", "risk"):
        lines = [json.loads(line) for replica in live.cluster.replicas[service]
                 for line in replica.log_text().splitlines()
                 if line.startswith("{") and rid in line]
        assert lines, f"{service} logged nothing with the request id"
        assert all(entry["request_id"] == rid and entry["service"] == service
                   for entry in lines)


def test_metrics_are_labelled_by_route_template(live: LivePlatform) -> None:
    account = live.create_account()
    with httpx.Client(base_url=live.gateway_url, timeout=10) as gw:
        oid = uuid.uuid4()
        assert gw.get(f"/v1/orders/{oid}", headers=account.headers).status_code == 404
        text = gw.get("/metrics").text
    assert ('http_requests_total{method="GET",route="/v1/orders/{order_id}",status="404"}'
            in text)
    assert str(oid) not in text
    assert "tradeplat_ready 1.0" in text
    assert 'tradeplat_build_info{replica="gateway-0",service="gateway",version="' in text
    assert 'tradeplat_dependency_up{dependency="database"} 1.0' in text


def test_sigterm_finishes_in_flight_requests_and_exits_0(live: LivePlatform) -> None:
    cluster = live.cluster
    replica = cluster.add_replica("analytics")
    cluster.wait_ready([replica], timeout_s=60)
    answers: list[int] = []
    heavy_url = replica.url + "/internal/risk/AAPL?window=2000"

    def heavy() -> None:
        answers.append(httpx.get(heavy_url, timeout=60).status_code)

    workers = [threading.Thread(target=heavy) for _ in range(2)]
    for worker in workers:
        worker.start()
    time.sleep(0.3)
    # The event loop keeps answering probes while the computations burn CPU.
    probe_times = []
    for _ in range(3):
        start = time.monotonic()
        assert httpx.get(replica.url + "/healthz", timeout=5).status_code == 200
        probe_times.append(time.monotonic() - start)
    assert min(probe_times) < 0.5, probe_times

    assert answers == [], "the computations must still be in flight when SIGTERM arrives"
    replica.process.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.join(timeout=60)
    assert answers == [200, 200], "in-flight requests finish despite SIGTERM"
    assert replica.process.wait(timeout=30) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(replica.url + "/healthz", timeout=2)


def test_concurrent_seeds_never_duplicate_accounts(make_database: Callable[[str], str]) -> None:
    dsn = make_database("seed")
    env = _clean_env(TRADEPLAT_DATABASE_URL=dsn)
    procs = [subprocess.Popen([*TRADEPLAT, "seed", "--accounts", "3"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ids = [{a["account_id"] for a in json.loads(out)["accounts"]} for out, _ in outputs]
    assert ids[0] == ids[1] and len(ids[0]) == 3
    rows = db_query(dsn, "SELECT name, count(*) AS n FROM accounts GROUP BY name")
    assert {r["name"]: r["n"] for r in rows} == {
        "loadtest-0001": 1, "loadtest-0002": 1, "loadtest-0003": 1}


def test_migrate_against_an_unreachable_database_says_so_and_exits_1() -> None:
    env = _clean_env(TRADEPLAT_DATABASE_URL="postgresql://nobody@127.0.0.1:9/none")
    done = subprocess.run([*TRADEPLAT, "migrate"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "database unreachable" in done.stderr and "Traceback" not in done.stderr
