"""The OpenAPI document of a service, made to say what the service answers.

FastAPI documents a 422 as its own ``HTTPValidationError``; every error here is
an :class:`~tradeplat.schemas.ErrorBody` (a 422 a
:class:`~tradeplat.schemas.ValidationErrorBody`). Some answers come from the
shared middleware and may follow any request, so every operation documents
them: 422 (a malformed ``X-Request-Timeout-Ms``, a bad parameter), 503 with
``Retry-After`` (load shed, deadline spent, a dependency down), 500 (a bug,
JSON with the request id), and 413 where a body is taken.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tradeplat.schemas import ErrorBody, ValidationErrorBody

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_VALIDATION_REF = {"$ref": "#/components/schemas/ValidationErrorBody"}
_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before trying again", "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]+$"}},
}


def _json(ref: dict[str, str], description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref}},
            **extra}


def _shape(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    old = responses.get("422", {})
    responses["422"] = _json(_VALIDATION_REF, old.get("description") if old.get(
        "description") not in (None, "Validation Error") else "invalid request; the field named")
    unavailable = responses.get("503", {}).get("description", "overloaded or a dependency down")
    responses["503"] = _json(_ERROR_REF, unavailable, headers=_RETRY_AFTER)
    if "429" in responses:
        responses["429"]["headers"] = _RETRY_AFTER
    responses.setdefault("500", _json(_ERROR_REF, "an unexpected error (a bug), with the "
                                      "request id"))
    if "requestBody" in operation:
        responses.setdefault("413", _json(_ERROR_REF, "body larger than the limit"))


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one producing the shaped document (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                               openapi_version=app.openapi_version)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in (ErrorBody, ValidationErrorBody):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                _shape(operation)
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
