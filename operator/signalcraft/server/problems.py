"""RFC 9457 problem details: every error the API returns, with a stable machine `code`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_TYPE = "https://signalcraft.io/problems/"
MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    pointer: str
    detail: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details; `code` is stable and machine-readable, extra members depend on the code."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    retryable: bool
    """Whether the same request may succeed later (408, 429, 5xx, an idempotent request still in flight)."""
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem+json answers a route can give."""
    reasons = {
        400: "Malformed request",
        401: "Missing, wrong, expired or revoked API key",
        403: "The API key lacks a scope",
        404: "No such object",
        409: "Conflict (ownership, in use, idempotency key in flight, already exists)",
        412: "A precondition (If-Match / If-None-Match) failed",
        413: "Request body too large",
        422: "The request does not validate",
        429: "Rate limited; see Retry-After",
        503: "Temporarily unable to serve (storage busy, overload); see Retry-After",
    }
    schema = {"$ref": "#/components/schemas/ProblemDetails"}
    return {
        status: {"description": reasons[status], "content": {MEDIA_TYPE: {"schema": schema}}} for status in statuses
    }


class Problem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("-", " ").capitalize()
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = extra

    @property
    def retryable(self) -> bool:
        return self.status in {408, 429} or self.status >= 500 or self.code == "idempotency-key-in-flight"

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "retryable": self.retryable,
        }
        if request_id is not None:
            body["request_id"] = request_id
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    return JSONResponse(
        problem.body(request_id), status_code=problem.status, headers=problem.headers, media_type=MEDIA_TYPE
    )


def pointer(location: Sequence[int | str]) -> str:
    """FastAPI's error location ('body', 'spec', 'rules', 0) as a JSON pointer into the request body (/spec/rules/0)."""
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


async def handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def handle_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        location = list(error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        errors.append({"pointer": pointer(location), "detail": message})
    return problem_response(Problem(422, "validation-failed", "the request does not validate", errors=errors), request)


async def handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return problem_response(Problem(exc.status_code, code, str(exc.detail), headers=exc.headers), request)


STORAGE_BUSY = Problem(
    503, "storage-busy", "the database is busy; retry shortly", headers={"Retry-After": "1"}, title="Storage busy"
)
INTERNAL_ERROR = Problem(500, "internal-error", "the server failed; the request may be retried")


async def handle_invalid_text(request: Request, exc: Exception) -> JSONResponse:
    """Text the database cannot store (a NUL in a path or query parameter, on PostgreSQL): the client's error."""
    return problem_response(
        Problem(400, "invalid-unicode", "the request holds a NUL character (U+0000), which no database stores as text"),
        request,
    )


async def handle_storage(request: Request, exc: Exception) -> JSONResponse:
    """The database could not take the request now (write lock held past the bounded wait, failed COMMIT, lost
    connection): nothing was written, so it is temporary, 503 with Retry-After."""
    return problem_response(STORAGE_BUSY, request)
