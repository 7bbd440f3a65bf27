"""Idempotency-Key for POST (IETF draft): replays the first answer, refuses a reused key with a different body.

24 h retention; a request still in flight answers 409; 5xx and 429 answers are never stored, so a retry runs again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from signalcraft.server.context import principal_for, state_of
from signalcraft.server.problems import Problem, problem_response

RETENTION_SECONDS = 24 * 3600


async def idempotent(request: Request, handler: Callable[[], Awaitable[Response]]) -> Response:
    key = request.headers.get("idempotency-key")
    if key is None:
        return await handler()
    if not 1 <= len(key) <= 255:
        raise Problem(400, "invalid-idempotency-key", "Idempotency-Key must be 1 to 255 characters")
    db = state_of(request).db
    principal = principal_for(request).service_account_id if hasattr(request.state, "principal") else "anonymous"
    body = await request.body()
    fingerprint = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).hexdigest()
    now = time.time()
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM idempotency WHERE created_at < ?", (now - RETENTION_SECONDS,))
        cursor = await tx.execute("SELECT * FROM idempotency WHERE principal = ? AND key = ?", (principal, key))
        seen = await cursor.fetchone()
        if seen is None:
            await tx.execute(
                "INSERT INTO idempotency (principal, key, fingerprint, state, created_at) VALUES (?, ?, ?, ?, ?)",
                (principal, key, fingerprint, "in-flight", now),
            )
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
        return Response(content=seen["body"], status_code=seen["status"], headers=headers)
    try:
        response = await handler()
    except Problem as problem:
        if problem.status >= 500 or problem.status == 429:
            await _forget(request, principal, key)
            raise
        response = problem_response(problem)
    except BaseException:
        await _forget(request, principal, key)
        raise
    if response.status_code >= 500 or response.status_code == 429:
        await _forget(request, principal, key)
        return response
    stored_headers = {
        name: value for name, value in response.headers.items() if name.lower() in {"content-type", "etag", "location"}
    }
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE idempotency SET state = 'done', status = ?, headers = ?, body = ? WHERE principal = ? AND key = ?",
            (response.status_code, json.dumps(stored_headers), bytes(response.body), principal, key),
        )
    return response


async def _forget(request: Request, principal: str, key: str) -> None:
    async with state_of(request).db.transaction() as tx:
        await tx.execute("DELETE FROM idempotency WHERE principal = ? AND key = ?", (principal, key))
