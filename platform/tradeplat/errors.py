"""The one error hierarchy of tradeplat, and the HTTP answer of each error.

``TradeplatError`` is the root. Lower layers' errors (asyncpg, httpx) are
mapped to the most specific subclass where they are caught, so handlers only
ever see these. Each class carries its HTTP status and a stable ``code``.
"""

from __future__ import annotations

from typing import Any


class TradeplatError(Exception):
    """Root of every error tradeplat raises on purpose."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.message}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return body

    def headers(self) -> dict[str, str]:
        return {}


class ConfigError(TradeplatError):
    """A setting is missing or malformed (raised at start, never per request)."""

    code = "config_error"

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}", field=variable)
        self.variable = variable


class ClientError(TradeplatError):
    """The request is wrong; the client must change it (4xx)."""

    status_code = 400
    code = "bad_request"


class InvalidInput(ClientError):
    status_code = 422
    code = "validation_error"

    def to_body(self) -> dict[str, Any]:
        body = super().to_body()
        # the same shape as a request that failed schema validation
        body.setdefault("errors", [{"field": self.field or "body", "message": self.message,
                                    "type": self.code}])
        return body


class Unauthorized(ClientError):
    status_code = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "ApiKey"}


class Forbidden(ClientError):
    status_code = 403
    code = "forbidden"


class NotFound(ClientError):
    status_code = 404
    code = "not_found"


class Conflict(ClientError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(ClientError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(ClientError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message, retry_after_s=round(retry_after_s, 3))
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        # Retry-After takes whole seconds; never advertise 0.
        return {"Retry-After": str(max(1, int(-(-self.retry_after_s // 1))))}


class Unavailable(TradeplatError):
    """A dependency cannot answer right now; retry later (503)."""

    status_code = 503
    code = "unavailable"

    def __init__(self, message: str, *, dependency: str) -> None:
        super().__init__(message, dependency=dependency)
        self.dependency = dependency

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class Overloaded(Unavailable):
    """This replica sheds load instead of queueing without bound."""

    code = "overloaded"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message, dependency="capacity")
        self.retry_after_s = max(1, int(retry_after_s))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class DatabaseUnavailable(Unavailable):
    code = "database_unavailable"

    def __init__(self, message: str = "the database is unreachable") -> None:
        super().__init__(message, dependency="database")


class DependencyUnavailable(Unavailable):
    code = "dependency_unavailable"


class DeadlineExceeded(Unavailable):
    """The caller's deadline (``X-Request-Timeout-Ms``) ran out: this service
    gave up before it, without committing anything (503, ``dependency`` names
    what it was waiting for)."""

    code = "deadline_exceeded"


class PoisonEvent(TradeplatError):
    """An outbox event that cannot be applied (malformed payload): set aside,
    left pending (so the outbox lag shows it), never silently dropped."""

    code = "poison_event"

    def __init__(self, event_id: int, problem: str) -> None:
        super().__init__(f"outbox event {event_id}: {problem}", event_id=event_id)
        self.event_id = event_id


class UpstreamError(TradeplatError):
    """Another service answered something this one cannot interpret (502)."""

    status_code = 502
    code = "bad_upstream_answer"
