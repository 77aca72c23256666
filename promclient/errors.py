"""The errors of the Prometheus client: one root (``PrometheusError``), a Prometheus that
does not answer, a query it rejects. The gate reports them as evaluation errors
(verdict ``error``); the CLI maps the root once (exit 2)."""

from __future__ import annotations


class PrometheusError(Exception):
    """Prometheus could not answer a query."""


class PrometheusUnreachable(PrometheusError):
    """No HTTP answer from Prometheus at ``url`` (refused, timeout, DNS)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"Prometheus at {url} is unreachable: {reason}")


class QueryError(PrometheusError):
    """Prometheus rejected a query; carries the query and Prometheus' own message."""

    def __init__(self, query: str, message: str, url: str = "") -> None:
        self.query = query
        self.message = message
        self.url = url
        where = f" (Prometheus at {url})" if url else ""
        super().__init__(f"query {query!r} failed{where}: {message}")
