"""Per-application state the routes share, and the authenticated principal of a request."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from signalcraft.server.auth import Principal, authenticate
from signalcraft.server.ratelimit import RateLimiter
from signalcraft.server.storage import Database


@dataclass
class AppState:
    db: Database
    public_url: str | None = None
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.signalcraft
    return state


async def require_principal(request: Request) -> Principal:
    """Authenticate the request's bearer key (401 otherwise) and apply the principal's rate limit (429)."""
    state = state_of(request)
    principal = await authenticate(state.db, request)
    state.rate_limiter.check(principal.service_account_id, request)
    request.state.principal = principal
    return principal


def principal_for(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal
