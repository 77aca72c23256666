"""Instant queries through ``PrometheusSource`` (the runner's live readers use them):
values and labels from a real Prometheus, NaN as no data, and the same error
policy as range queries."""

from __future__ import annotations

import socket

import pytest

from promclient.errors import PrometheusUnreachable, QueryError
from promclient.source import PrometheusSource, Sample


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_instant_vector_with_labels(known) -> None:
    with PrometheusSource(known.url, timeout_s=5) as source:
        samples = source.instant_query("service:replicas_ready", at=known.ref + 70)
    by_service = {s.labels["service"]: s.value for s in samples}
    assert by_service == {"gateway": 2.0, "orders": 1.0}
    assert all(s.labels["__name__"] == "service:replicas_ready" for s in samples)


def test_scalar_nan_and_empty_results(known) -> None:
    with PrometheusSource(known.url, timeout_s=5) as source:
        assert source.instant_query("scalar(platform:database_up)", at=known.ref + 10) == [
            Sample({}, 1.0)]
        assert source.instant_query("0/0") == [Sample({}, None)]  # NaN: no data, not a value
        assert source.instant_query("no_such_metric_anywhere") == []


def test_a_rejected_query_carries_prometheus_message(known) -> None:
    with PrometheusSource(known.url, timeout_s=5) as source, \
            pytest.raises(QueryError, match="bad_data") as info:
        source.instant_query("sum(")
    assert info.value.query == "sum("


def test_no_prometheus_is_unreachable_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with PrometheusSource(url, timeout_s=1) as source, \
            pytest.raises(PrometheusUnreachable, match=url):
        source.instant_query("up")
