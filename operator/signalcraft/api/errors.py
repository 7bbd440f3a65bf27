"""The SignalCraft API's errors as one small exception tree (RFC 9457 problem details mapped by status and code).

Transient errors (network trouble, 5xx, 429, an idempotent request still in flight) are worth retrying; everything else
is permanent until the request changes. Messages carry the problem's title, detail and code, never credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class SignalCraftError(Exception):
    """Base of every error the client raises."""


class TransportError(SignalCraftError):
    """The request never got an HTTP answer (connection refused, timeout, TLS)."""


@dataclass(frozen=True)
class FieldError:
    pointer: str
    detail: str


class ApiError(SignalCraftError):
    """The API answered with an error status."""

    def __init__(self, status: int, problem: Mapping[str, Any], retry_after: float | None = None) -> None:
        self.status = status
        self.problem = dict(problem)
        self.code = str(problem.get("code") or "")
        self.title = str(problem.get("title") or "")
        self.detail = str(problem.get("detail") or "")
        self.retry_after = retry_after
        self.errors = [
            FieldError(str(item.get("pointer", "")), str(item.get("detail", "")))
            for item in problem.get("errors") or []
            if isinstance(item, Mapping)
        ]
        super().__init__(f"{status} {self.code or self.title}: {self.detail or self.title}".strip())


class TransientApiError(ApiError):
    """5xx, 408, 429, or 409 for an idempotent request still in flight: retry after `retry_after` (or a backoff)."""


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    """409: `ownership-conflict` (see `current_manager`), `in-use` (see `referenced_by`), or another conflict."""

    @property
    def current_manager(self) -> str | None:
        manager = self.problem.get("current_manager")
        if isinstance(manager, Mapping):
            identity = manager.get("identity")
            return str(identity) if identity else None
        return str(manager) if manager else None

    @property
    def referenced_by(self) -> list[Mapping[str, Any]]:
        referrers = self.problem.get("referenced_by") or []
        return [item for item in referrers if isinstance(item, Mapping)]


class PreconditionFailedError(ApiError):
    """412: If-Match did not match (someone wrote meanwhile) or If-None-Match: * found an existing object."""


class ValidationError(ApiError):
    """400/422: the request itself is wrong; `errors` point at the offending fields."""


class AuthenticationError(ApiError):
    """401: the API key is missing, wrong, expired or revoked."""


class PermissionDeniedError(ApiError):
    """403: the key lacks a scope."""


def error_for(status: int, problem: Mapping[str, Any], retry_after: float | None) -> ApiError:
    code = str(problem.get("code") or "")
    if status in {408, 429} or status >= 500 or (status == 409 and code == "idempotency-key-in-flight"):
        return TransientApiError(status, problem, retry_after)
    classes: dict[int, type[ApiError]] = {
        400: ValidationError,
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
        412: PreconditionFailedError,
        422: ValidationError,
    }
    return classes.get(status, ApiError)(status, problem, retry_after)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransportError | TransientApiError)
