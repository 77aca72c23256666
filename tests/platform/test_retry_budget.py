"""Retries never multiply work: a callee failing everything gets about 10 % extra calls,
and a call that may still be running on the callee is never sent twice."""

from __future__ import annotations

import httpx
import pytest
from tradeplat.errors import DependencyUnavailable
from tradeplat.web.clients import ServiceClient
from tradeplat.web.retry_budget import RetryBudget


def _client(handler: object) -> tuple[ServiceClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def counted(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[operator]

    client = ServiceClient("callee", "http://callee", timeout_s=1.0,
                           transport=httpx.MockTransport(counted))
    return client, seen


def _unavailable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"error": "database_unavailable", "detail": "down"})


async def test_a_callee_failing_everything_gets_about_ten_percent_more_calls() -> None:
    client, seen = _client(_unavailable)
    for _ in range(300):
        r = await client.request("GET", "/internal/thing")
        assert r.status_code == 503
    await client.aclose()
    # 300 calls, 10 % of them retried, plus the budget's floor (one a second over 10 s)
    assert 300 < len(seen) <= 300 + 30 + 10


@pytest.mark.parametrize("answer", [
    {"error": "overloaded", "detail": "busy"},
    {"error": "deadline_exceeded", "detail": "late"},
])
async def test_a_callee_that_sheds_or_ran_out_of_time_is_not_asked_again(
    answer: dict[str, str]
) -> None:
    client, seen = _client(lambda request: httpx.Response(503, json=answer,
                                                          headers={"Retry-After": "2"}))
    r = await client.request("GET", "/internal/thing")
    await client.aclose()
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert len(seen) == 1


async def test_a_call_that_may_still_run_on_the_callee_is_never_sent_twice() -> None:
    def timed_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    client, seen = _client(timed_out)
    with pytest.raises(DependencyUnavailable):
        await client.request("GET", "/internal/slow")
    await client.aclose()
    assert len(seen) == 1


async def test_a_call_that_never_left_is_retried() -> None:
    calls = []

    def refused_once(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"ok": True})

    client, _ = _client(refused_once)
    r = await client.request("GET", "/internal/thing")
    await client.aclose()
    assert r.status_code == 200 and len(calls) == 2


def test_the_budget_allows_ten_percent_plus_a_floor() -> None:
    budget = RetryBudget(ratio=0.1, window_s=10, min_per_s=0.5)
    for _ in range(100):
        budget.called()
    allowed = 0
    while budget.try_retry():
        allowed += 1
    assert allowed == 10 + 5
