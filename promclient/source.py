"""Range and instant queries against Prometheus, batched and parallel, with errors mapped.

Built on ``prometheus-api-client``'s :class:`PrometheusConnect` (one per worker
thread: a ``requests.Session`` is not thread-safe). Each distinct query is
asked once for a whole window (split into chunks of at most
:data:`MAX_POINTS` samples, Prometheus' per-series limit) and the callers
slice it per phase locally, so the cost grows with the number of distinct
queries, not with phases or samples. Instant queries (:meth:`PrometheusSource.instant_query`)
serve live readers (the runner's progress display, its start check), with the
same timeout and error policy.
"""

from __future__ import annotations

import ast
import json
import math
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlparse

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from promclient.errors import PrometheusError, PrometheusUnreachable, QueryError
from promclient.series import Series, from_matrix, merge

MAX_POINTS = 11_000  # Prometheus refuses range queries above 11,000 points per series


@dataclass(frozen=True)
class Sample:
    """One series of an instant query: its labels and its value (``None`` for NaN: no data)."""

    labels: dict[str, str] = field(default_factory=dict)
    value: float | None = None


class PrometheusSource:
    """A Prometheus server at ``url``: connection check and batched range queries."""

    def __init__(self, url: str, *, timeout_s: float = 15.0, workers: int = 4) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.workers = max(1, workers)
        self._local = threading.local()
        self._clients: list[PrometheusConnect] = []
        self._lock = threading.Lock()

    def __enter__(self) -> PrometheusSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()

    def _client(self) -> PrometheusConnect:
        client = getattr(self._local, "client", None)
        if client is None:
            # retry 502/503/504 once (a busy server), never hammer a dead one
            retry = Retry(
                total=2,
                connect=0,
                read=0,
                status=1,
                backoff_factor=0.2,
                status_forcelist=(502, 503, 504),
                raise_on_status=False,
            )
            # no gzip: on a LAN or loopback compressing megabytes of JSON costs more CPU
            # (on both sides) than it saves in transfer
            client = PrometheusConnect(
                url=self.url,
                retry=retry,
                timeout=self.timeout_s,
                headers={"Accept-Encoding": "identity"},
            )
            if urlparse(self.url).hostname in ("127.0.0.1", "localhost", "::1"):
                client._session.trust_env = False  # loopback: skip the proxy lookup per request
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def check(self) -> str:
        """Prometheus' version; raise :class:`PrometheusUnreachable` when it does not answer."""
        if urlparse(self.url).scheme not in ("http", "https") or not urlparse(self.url).hostname:
            raise PrometheusUnreachable(self.url, "not an http(s)://host:port URL")
        try:
            response = self._client()._session.get(
                f"{self.url}/api/v1/status/buildinfo", timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            raise PrometheusUnreachable(self.url, _reason(exc)) from None
        if response.status_code != 200:
            raise PrometheusUnreachable(
                self.url,
                f"HTTP {response.status_code} from /api/v1/status/buildinfo"
                " (is this a Prometheus server?)",
            )
        try:
            return str(response.json()["data"]["version"])
        except (ValueError, KeyError, TypeError):
            raise PrometheusUnreachable(self.url, "the answer is not Prometheus' API") from None

    def range_query(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        """Every series of ``query`` sampled at ``start + k*step_s`` up to ``end``."""
        chunks = []
        span = step_s * (MAX_POINTS - 1)
        chunk_start = start
        while chunk_start <= end + 1e-9:
            chunk_end = min(end, chunk_start + span)
            chunks.append(self._range_chunk(query, chunk_start, chunk_end, step_s))
            chunk_start = chunk_end + step_s
        return merge(chunks)

    def range_queries(
        self, queries: Iterable[str], start: float, end: float, step_s: float
    ) -> dict[str, list[Series] | PrometheusError]:
        """Run distinct ``queries`` in parallel; each maps to its series or to its error."""
        distinct = list(dict.fromkeys(queries))

        def one(query: str) -> list[Series] | PrometheusError:
            try:
                return self.range_query(query, start, end, step_s)
            except PrometheusError as exc:
                return exc

        if len(distinct) <= 1:
            return {q: one(q) for q in distinct}
        with ThreadPoolExecutor(max_workers=min(self.workers, len(distinct))) as pool:
            return dict(zip(distinct, pool.map(one, distinct), strict=True))

    def _range_chunk(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        client = self._client()
        with self._mapped_errors(query):
            result = client.custom_query_range(
                query,
                start_time=datetime.fromtimestamp(start, UTC),
                end_time=datetime.fromtimestamp(end, UTC),
                step=_step_text(step_s),
                # exact (sub-second) bounds: the library rounds its own to whole seconds
                params={"start": _time_text(start), "end": _time_text(end)},
            )
            return from_matrix(result)

    def instant_query(self, query: str, at: float | None = None) -> list[Sample]:
        """Every series of ``query`` at time ``at`` (Unix s; default: Prometheus' now).

        Errors as for range queries: :class:`PrometheusUnreachable` (no answer),
        :class:`QueryError` (rejected, too slow, or not Prometheus' JSON).
        """
        client = self._client()
        params = {"time": _time_text(at)} if at is not None else None
        with self._mapped_errors(query):
            return _samples(client.custom_query(query, params=params))

    @contextmanager
    def _mapped_errors(self, query: str) -> Iterator[None]:
        """Map the HTTP client's and the library's errors to this package's (one policy)."""
        try:
            yield
        except requests.ReadTimeout:
            raise QueryError(
                query,
                f"no answer within {self.timeout_s:g} s (a heavy query or a busy server)",
                self.url,
            ) from None
        except requests.RequestException as exc:
            raise PrometheusUnreachable(self.url, _reason(exc)) from None
        except PrometheusApiClientException as exc:
            raise QueryError(query, prometheus_message(str(exc)), self.url) from None
        except (ValueError, KeyError, TypeError, IndexError) as exc:  # not Prometheus' JSON
            raise QueryError(query, f"unexpected answer: {exc}", self.url) from None


def _samples(result: object) -> list[Sample]:
    """Samples of an instant query's ``result``: a vector, or a scalar (one unlabelled sample)."""
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        result = [{"metric": {}, "value": result}]  # resultType scalar: [t, "v"]
    if not isinstance(result, list):
        raise TypeError(f"expected a vector, got {type(result).__name__}")
    samples = []
    for item in result:
        value = float(item["value"][1])
        samples.append(Sample(dict(item.get("metric") or {}), None if math.isnan(value) else value))
    return samples


def _step_text(step_s: float) -> str:
    return f"{step_s:g}"


def _time_text(t: float) -> str:
    return f"{t:.3f}"


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout | requests.ReadTimeout):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unreachable"
    return f"{type(exc).__name__}: {exc}"


def prometheus_message(text: str) -> str:
    """Prometheus' own error message from prometheus-api-client's exception text.

    The library formats ``HTTP Status Code 400 (b'{"status":"error",...}')``;
    the JSON body carries ``errorType`` and ``error``.
    """
    head, _, rest = text.partition("(")
    body = rest[:-1] if rest.endswith(")") else rest
    try:
        raw = ast.literal_eval(body)
        payload = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        message = f"{payload['errorType']}: {payload['error']}"
        status = head.replace("HTTP Status Code", "").strip()
        return f"{message} (HTTP {status})" if status else message
    except (ValueError, SyntaxError, KeyError, TypeError, AttributeError):
        return text


def finite(value: float | None) -> float | None:
    """``value`` if finite, else None (JSON has no NaN/Inf)."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return value
