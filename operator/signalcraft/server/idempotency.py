"""Idempotency-Key for POST (IETF draft): replays the first answer, refuses a reused key with a different body.

Keys are scoped to the principal (a service account, or a routing key on the Events API) and kept 24 h. The
fingerprint is the method, the path and the canonical JSON body, so a retry that only reorders keys is the same request.
A request still in flight answers 409; one whose process died holding the key is taken over once its lease has run out.
5xx and 429 answers are never stored, so a retry runs again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from signalcraft.server.context import principal_for, state_of
from signalcraft.server.problems import Problem, problem_response
from signalcraft.server.storage import Row

RETENTION_SECONDS = 24 * 3600
IN_FLIGHT_LEASE_SECONDS = 60.0
"""A first request running longer than this is presumed dead (crashed server), and a retry may run it again."""
REPLAYED_HEADERS = {"content-type", "etag", "location", "cache-control"}


def _fingerprint(request: Request, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + canonical).hexdigest()


def _key(request: Request) -> str | None:
    """The header value; the draft sends a structured-field string ("..."), bare tokens are accepted too."""
    value = request.headers.get("idempotency-key")
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 1 <= len(value) <= 255:
        raise Problem(400, "invalid-idempotency-key", "Idempotency-Key must be 1 to 255 characters")
    return value


async def idempotent(
    request: Request,
    handler: Callable[[], Awaitable[Response]],
    *,
    scope: str | None = None,
    redact: Callable[[bytes], bytes] | None = None,
) -> Response:
    """Run `handler` once per Idempotency-Key (if the request has one) and replay its answer to retries.

    `redact` turns the answer into what is stored for replays, for answers carrying a secret that must not be kept.
    """
    key = _key(request)
    if key is None:
        return await handler()
    db = state_of(request).db
    owner = scope or principal_for(request).service_account_id
    fingerprint = _fingerprint(request, await request.body())
    now = time.time()
    # A key already decided (answered, in flight on any process, or used for another request) is answered from the
    # last commit without the write lock, so replays and 409s cost one read and never wait behind writers.
    seen = await db.idempotency.get(owner, key)
    if not _decided(seen, fingerprint, now):
        async with db.transaction() as tx:
            await tx.idempotency.purge(now - RETENTION_SECONDS)
            seen = await tx.idempotency.get(owner, key)
            if seen is not None and not _decided(seen, fingerprint, now):
                await tx.idempotency.renew(owner, key, now)
                seen = None
            elif seen is None:
                await tx.idempotency.take(owner, key, fingerprint, now)
    if seen is not None:
        if seen["fingerprint"] != fingerprint:
            raise Problem(422, "idempotency-key-reused", "this Idempotency-Key was used with a different request")
        if seen["state"] == "in-flight":
            raise Problem(
                409,
                "idempotency-key-in-flight",
                "the first request with this key is still running",
                headers={"Retry-After": "1"},
            )
        headers = {**json.loads(seen["headers"]), "Idempotent-Replayed": "true"}
        return Response(content=bytes(seen["body"]), status_code=seen["status"], headers=headers)
    try:
        response = await handler()
    except Problem as problem:
        if problem.retryable:
            await _forget(request, owner, key)
            raise
        response = problem_response(problem, request)
    except BaseException:
        await _forget(request, owner, key)
        raise
    if response.status_code >= 500 or response.status_code == 429:
        await _forget(request, owner, key)
        return response
    stored_headers = {name: value for name, value in response.headers.items() if name.lower() in REPLAYED_HEADERS}
    stored_body = bytes(response.body)
    if redact is not None and response.status_code < 400:
        stored_body = redact(stored_body)
    async with db.transaction() as tx:
        await tx.idempotency.complete(owner, key, response.status_code, json.dumps(stored_headers), stored_body)
    return response


def _decided(seen: Row | None, fingerprint: str, now: float) -> bool:
    """Whether a stored record answers this request: not expired, and not an in-flight record of the same request
    whose lease ran out (its process died: this request takes it over)."""
    if seen is None or now - seen["created_at"] > RETENTION_SECONDS:
        return False
    abandoned = (
        seen["fingerprint"] == fingerprint
        and seen["state"] == "in-flight"
        and now - seen["created_at"] > IN_FLIGHT_LEASE_SECONDS
    )
    return not abandoned


async def _forget(request: Request, owner: str, key: str) -> None:
    """Drop the in-flight record so a retry runs for real (if this fails too, the lease expires it)."""
    async with state_of(request).db.transaction() as tx:
        await tx.idempotency.forget(owner, key)
