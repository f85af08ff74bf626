"""The service's one error shape, `{"error": {"message", "type", "param", "code"}}` (OpenAI's),
for every failure: handler errors, body validation, and anything unexpected."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from crisis_mas.pool.backends.vllm_async import ModelRejected
from crisis_mas.pool.base import ModelPoolError
from crisis_mas.service.security import error_body

log = logging.getLogger("crisis_mas.service.errors")


class ApiError(Exception):
    """An error with its HTTP status; rendered as the OpenAI-style error object."""

    def __init__(self, status: int, message: str, type_: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param = status, message, type_, param


def model_error(errors: list[ModelPoolError]) -> ApiError:
    err = errors[0]
    if isinstance(err, ModelRejected):
        return ApiError(422, f"the model rejected the request: {err}", "invalid_request_error")
    return ApiError(503, f"model unavailable: {err}", "model_unavailable")


def validation_error(exc: RequestValidationError) -> ApiError:
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if first.get("type") == "json_invalid":
        return ApiError(
            400,
            f"malformed JSON: {first.get('ctx', {}).get('error', first['msg'])}",
            "invalid_request_error",
        )
    field = ".".join(loc) or "body"
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return ApiError(422, f"{field}: {msg}{more}", "invalid_request_error", field)


def install_error_handlers(app: FastAPI) -> None:
    """Render ApiError, request-validation errors and unexpected exceptions as the error object."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return Response(
            error_body(exc.status, exc.message, exc.type, exc.param),
            exc.status,
            media_type="application/json",
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        """Unknown routes (404), wrong methods (405, with Allow) and other framework errors."""
        kinds = {404: "not_found_error", 405: "method_not_allowed"}
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path} (see /docs)"
        elif exc.status_code == 400 and "parsing the body" in message:
            message = "malformed request body (JSON expected)"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        kind = kinds.get(exc.status_code, "invalid_request_error")
        return Response(
            error_body(exc.status_code, message, kind),
            exc.status_code,
            headers=dict(exc.headers or {}),
            media_type="application/json",
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return await _api_error(request, validation_error(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        return await _api_error(
            request,
            ApiError(500, f"internal error: {type(exc).__name__}: {exc}"[:500], "server_error"),
        )
