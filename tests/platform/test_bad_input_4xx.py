"""Bad input never produces a 5xx: a clear 4xx naming the field instead.

Hand-picked cases a client really sends (in-process, fast), then schemathesis
fuzzing every public operation of the running gateway from its OpenAPI schema.
"""

from __future__ import annotations

import random
import uuid

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from platform_helpers import ADMIN_KEY, LivePlatform, Platform
from schemathesis import GenerationMode

GOOD = {"symbol": "AAPL", "side": "BUY", "type": "LIMIT", "quantity": 1, "price": "1.00"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"quantity": "10"}, "quantity"),
        ({"quantity": 10**30}, "quantity"),
        ({"price": 1.25}, "price"),  # a float: refused, it may have lost precision
        ({"price": "1.00001"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "Infinity"}, "price"),
        ({"price": "1e400"}, "price"),
        ({"price": "1.005"}, "price"),  # not a multiple of the 0.01 tick
        ({"price": None}, "price"),  # LIMIT without a price
        ({"type": "MARKET"}, "price"),  # MARKET with a price
        ({"side": "HOLD"}, "side"),
        ({"type": "STOP"}, "type"),
        ({"symbol": "aapl"}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"client_order_id": "a\x00b"}, "client_order_id"),
        ({"client_order_id": "x" * 65}, "client_order_id"),
        ({"client_order_id": ""}, "client_order_id"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_malformed_order_is_422_naming_the_field(
    platform: Platform, change: dict[str, object], field: str
) -> None:
    _, headers = await platform.create_account()
    body = {**GOOD, "client_order_id": uuid.uuid4().hex, **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = await platform.gateway.post("/v1/orders", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize("key", ["caf\xe9".encode("latin-1"), b"\x80\xff", b"a\x01b"])
async def test_non_ascii_idempotency_key_is_422_naming_the_header(
    platform: Platform, key: bytes
) -> None:
    _, headers = await platform.create_account()
    body = {k: v for k, v in GOOD.items()}
    r = await platform.gateway.post("/v1/orders", json=body,
                                    headers={**headers, "Idempotency-Key": key})  # type: ignore[dict-item]
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "Idempotency-Key"
    assert r.headers["x-request-id"]


@pytest.mark.parametrize(
    ("method", "path", "header", "status"),
    [
        ("GET", "/v1/orders", "X-API-Key", 401),
        ("PUT", "/v1/admin/halt", "X-Admin-Key", 401),
        ("GET", "/v1/orders", "X-Request-ID", 200),
        ("GET", "/v1/marketdata/quotes/%C3%A9", None, 422),
        ("GET", "/v1/orders?symbol=%C3%A9", None, 422),
    ],
)
async def test_non_ascii_headers_and_paths_are_never_a_5xx(
    platform: Platform, method: str, path: str, header: str | None, status: int
) -> None:
    _, headers = await platform.create_account()
    sent: dict[str, object] = dict(headers)
    if header is not None:
        sent[header] = "caf\xe9".encode("latin-1")
    r = await platform.gateway.request(method, path, headers=sent,  # type: ignore[arg-type]
                                       json={"halted": False} if method == "PUT" else None)
    assert r.status_code == status, r.text
    assert r.headers["x-request-id"]


async def test_unknown_symbol_is_404(platform: Platform) -> None:
    _, headers = await platform.create_account()
    r = await platform.gateway.post("/v1/orders", headers=headers,
                                    json={**GOOD, "symbol": "NOPE", "client_order_id": "u1"})
    assert r.status_code == 404 and r.json()["field"] == "symbol"
    r = await platform.gateway.get("/v1/marketdata/quotes/NOPE", headers=headers)
    assert r.status_code == 404
    r = await platform.gateway.get("/v1/analytics/risk/NOPE", headers=headers)
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/v1/orders", {"content": b"{not json", "headers": {"Content-Type":
                                                                      "application/json"}}, 422),
        ("POST", "/v1/orders", {"content": b"[]", "headers": {"Content-Type":
                                                               "application/json"}}, 422),
        ("POST", "/v1/orders", {"content": b"quantity=1", "headers": {"Content-Type":
                                                                       "text/plain"}}, 422),
        ("POST", "/v1/orders", {"content": b"\xff\xfe\x00", "headers": {"Content-Type":
                                                                         "application/json"}}, 422),
        ("POST", "/v1/orders", {"content": b"{" + b" " * 70_000 + b"}"}, 413),
        ("GET", "/v1/orders/not-a-uuid", {}, 422),
        ("GET", "/v1/orders?limit=0", {}, 422),
        ("GET", "/v1/orders?limit=501", {}, 422),
        ("GET", "/v1/orders?status=LOST", {}, 422),
        ("GET", "/v1/orders?symbol=%00", {}, 422),
        ("GET", "/v1/marketdata/candles/AAPL?interval=7m", {}, 422),
        ("GET", "/v1/analytics/risk/AAPL?window=5001", {}, 422),
        ("GET", "/v1/analytics/risk/AAPL?window=9", {}, 422),
        ("DELETE", f"/v1/orders/{uuid.uuid4()}", {}, 404),
        ("PATCH", "/v1/orders", {}, 405),
        ("GET", "/v1/nothing-here", {}, 404),
    ],
)
async def test_bad_requests_are_4xx(
    platform: Platform, method: str, path: str, kwargs: dict[str, object], status: int
) -> None:
    _, headers = await platform.create_account()
    extra = dict(kwargs.pop("headers", {}))  # type: ignore[call-overload]
    r = await platform.gateway.request(method, path, headers={**headers, **extra}, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")


async def test_streamed_oversized_body_is_413(platform: Platform) -> None:
    _, headers = await platform.create_account()

    async def chunks():  # no Content-Length: the limit must hold while streaming
        for _ in range(100):
            yield b"x" * 1024

    r = await platform.gateway.post("/v1/orders", content=chunks(), headers=headers)
    assert r.status_code == 413


async def test_missing_or_unknown_api_key_is_401(platform: Platform) -> None:
    assert (await platform.gateway.get("/v1/orders")).status_code == 401
    r = await platform.gateway.get("/v1/orders", headers={"X-API-Key": "tp_guess"})
    assert r.status_code == 401 and r.json()["field"] == "X-API-Key"
    r = await platform.gateway.get("/v1/portfolio", headers={"X-API-Key": "k" * 10_000})
    assert r.status_code in (401, 431)


async def test_malformed_admin_account_bodies_are_4xx(platform: Platform) -> None:
    admin = {"X-Admin-Key": ADMIN_KEY}
    for body, field in [
        ({"name": "x", "cash": "-1"}, "cash"),
        ({"name": "x", "cash": 10.5}, "cash"),
        ({"name": "", "cash": "1"}, "name"),
        ({"name": "x", "positions": {"AAPL": -1}}, "positions.AAPL"),
    ]:
        r = await platform.gateway.post("/v1/admin/accounts", json=body, headers=admin)
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    r = await platform.gateway.post("/v1/admin/accounts", headers=admin,
                                    json={"name": "x", "positions": {"ZZZZ": 1}})
    assert r.status_code == 404 and r.json()["field"] == "positions.ZZZZ"


def test_fuzzed_requests_from_the_openapi_schema_never_get_a_5xx(live: LivePlatform) -> None:
    spec = httpx.get(live.gateway_url + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12, "every public operation is in the schema"
    account = live.create_account(positions={"AAPL": 1000})
    auth = {"X-API-Key": account.api_key, "X-Admin-Key": ADMIN_KEY}
    strategy = st.one_of(
        [op.as_strategy(generation_mode=mode) for op in operations
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    )
    rng = random.Random(3)
    seen: dict[str, int] = {}
    server_errors: list[str] = []

    with requests.Session() as session:

        @settings(max_examples=120, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def call(case: schemathesis.Case) -> None:
            if "/analytics/" in case.path and isinstance(case.query, dict):
                window = case.query.get("window")
                if isinstance(window, int) and window > 800:
                    case.query["window"] = 800  # keep the CPU bill of the suite small
            # Mostly with valid credentials (to reach the handlers), sometimes as generated.
            if rng.random() < 0.85:
                case.headers = {**(case.headers or {}), **auth}
            response = case.call(base_url=live.gateway_url, session=session, timeout=30)
            key = f"{case.method} {case.path}"
            seen[key] = seen.get(key, 0) + 1
            if response.status_code >= 500:
                server_errors.append(f"{key} -> {response.status_code}: {response.text[:200]}")

        try:
            call()
        finally:
            # Undo what fuzzed admin calls may have switched on.
            session.put(live.gateway_url + "/v1/admin/halt", json={"halted": False},
                        headers=auth, timeout=10)
            for symbol in ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA"):
                session.put(f"{live.gateway_url}/v1/admin/symbols/{symbol}/halt",
                            json={"halted": False}, headers=auth, timeout=10)
    assert server_errors == []
    assert len(seen) >= 12, f"fuzzing reached only {sorted(seen)}"
    for replica in live.cluster.all_replicas():
        bugs = [line for line in replica.log_text().splitlines() if "unhandled error" in line]
        assert bugs == [], f"{replica.name} logged a bug: {bugs[:2]}"
