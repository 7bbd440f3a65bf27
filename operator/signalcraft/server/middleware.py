"""The API's one ASGI middleware: X-Request-Id and RateLimit headers on every answer, failures as problem+json, request
bodies capped (413), and JSON bodies with lone UTF-16 surrogates refused before any route sees them.

Plain ASGI rather than Starlette's BaseHTTPMiddleware: it adds no task or stream per request, which is most of the
per-request overhead on a small server.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signalcraft.api import wire
from signalcraft.api.limits import MAX_REQUEST_BYTES
from signalcraft.server.problems import INTERNAL_ERROR, Problem, problem_response
from signalcraft.supervision import failure_outline

log = logging.getLogger("signalcraft.api")
INVALID_UNICODE = Problem(
    400,
    "invalid-unicode",
    "the JSON body contains a lone UTF-16 surrogate or a NUL character (U+0000), which no database stores as text",
)
"""No request body is larger; the webhook (1 MiB) and Events API (512 KB) routes enforce their own, smaller limits."""
TOO_LARGE = Problem(413, "payload-too-large", f"request bodies are limited to {MAX_REQUEST_BYTES} bytes")


_NOT_JSON = ("application/x-www-form-urlencoded", "multipart/")
# Monitoring payloads are repaired by their source strategy (U+FFFD) rather than refused: a sender cannot fix them.
_REPAIRED_PATHS = ("/api/v1/webhooks/", "/api/webhooks/")
"""Bodies never read as JSON (the UI's forms); every other body is checked for unsafe numbers if it is JSON."""


class RequestTooLarge(Exception):
    """The body grew past MAX_REQUEST_BYTES while it was being read."""


def refusal(body: bytes, *, check_text: bool) -> Problem | None:
    """Why a JSON body is refused before any route sees it, parsed once for both checks; None for any other body,
    JSON or not (the route's own validation answers).

    A JSON document holding NaN, ±Infinity or an integer beyond ±(2^53-1) is refused whatever its Content-Type (SNS
    posts JSON as text/plain). With `check_text`: JSON may escape lone UTF-16 surrogates ("\\ud800"), which no UTF-8
    text holds, and NUL ("\\u0000"), which PostgreSQL's text refuses: both are refused whatever the engine, so that
    SQLite and PostgreSQL answer alike."""
    if body.lstrip()[:1] not in (b"{", b"["):
        return INVALID_UNICODE if check_text and _unstorable(_decoded(body)) else None
    try:
        decoded = wire.loads(body)
    except wire.UnsafeNumber as exc:
        return Problem(422, "unsafe-number", f"{exc}; numbers must be finite, integers within ±(2^53-1)")
    except ValueError:
        return None
    return INVALID_UNICODE if check_text and _unstorable(decoded) else None


def _decoded(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None  # not JSON at all: the route's own validation answers that


def _unstorable(decoded: Any) -> bool:
    pending: list[Any] = [decoded]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
            try:
                value.encode()
            except UnicodeEncodeError:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


class ApiMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get("x-request-id", "")
        identifier = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else os.urandom(16).hex()
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = identifier
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                response_headers = MutableHeaders(scope=message)
                response_headers["X-Request-Id"] = identifier
                for name, value in state.get("rate_limit_headers", {}).items():
                    response_headers.setdefault(name, value)
            await send(message)

        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            await problem_response(TOO_LARGE, Request(scope))(scope, receive, send_with_headers)
            return
        receive = _limited(receive)
        try:
            content_type = headers.get("content-type", "")
            if scope["method"] in {"POST", "PUT", "PATCH"} and not content_type.startswith(_NOT_JSON):
                body, receive = await _buffered(receive)
                check_text = "json" in content_type and b"\\u" in body and not scope["path"].startswith(_REPAIRED_PATHS)
                refused = refusal(body, check_text=check_text)
                if refused is not None:
                    await problem_response(refused, Request(scope))(scope, receive, send_with_headers)
                    return
            await self.app(scope, receive, send_with_headers)
        except RequestTooLarge:
            if started:
                raise
            await problem_response(TOO_LARGE, Request(scope))(scope, receive, send_with_headers)
        except Exception as exc:
            # The route's template, never the path (webhook tokens are path segments), and the failure's place in the
            # code without its message: headers, bodies and what came of them may hold keys and secrets.
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            log.error(
                "request %s %s failed (request id %s): %s", scope["method"], route, identifier, failure_outline(exc)
            )
            if started:
                raise
            await problem_response(INTERNAL_ERROR, Request(scope))(scope, receive, send_with_headers)


def _limited(receive: Receive) -> Receive:
    """`receive` that raises RequestTooLarge once the body passes MAX_REQUEST_BYTES (chunked bodies included)."""
    seen = 0

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > MAX_REQUEST_BYTES:
            raise RequestTooLarge
        return message

    return counting


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body, and a `receive` that hands it to the app as if it came from the network."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive  # the client went away: let the app see the disconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
