"""Per-application state the routes share, and the authenticated principal of a request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from signalcraft.ingest.sources.cloudwatch import SnsSettings
from signalcraft.server.atlassian import OAuthApp
from signalcraft.server.auth import KeyCache, Principal, authenticate
from signalcraft.server.ratelimit import RateLimiter
from signalcraft.server.storage import Storage


@dataclass
class AppState:
    db: Storage
    public_url: str | None = None
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)
    events_rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(100.0, 200.0, "per-routing-key"))
    sns: SnsSettings = field(default_factory=SnsSettings)
    unknown_key_limiter: RateLimiter = field(default_factory=lambda: unknown_key_limiter(10.0))
    """Events for routing keys that do not exist, per client address."""
    keys: KeyCache = field(default_factory=KeyCache)
    """API keys verified in the last second (cleared by this process's revocations; other replicas' within 1 s)."""
    webhook_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(64))
    """Webhook requests handled at once; beyond that senders get 503 + Retry-After and retry."""
    jira_oauth: OAuthApp | None = None
    """The Atlassian OAuth 2.0 (3LO) app "Connect Jira" uses; None: Jira connects by API token only."""

    @property
    def sns_ca_bundle(self) -> str | None:
        return self.sns.ca_bundle


def unknown_key_limiter(per_minute: float) -> RateLimiter:
    """`per_minute` events for unknown routing keys per client address, as a burst that refills over a minute."""
    return RateLimiter(per_minute / 60.0, max(1.0, per_minute), "unknown-routing-keys-per-address")


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.signalcraft
    return state


IN_PROCESS_PRINCIPAL = "signalcraft.in_process_principal"
"""ASGI scope key under which the UI's in-process calls carry the signed-in person's principal. Only code inside this
process can put a Python object into a request's scope; requests from the network always authenticate by key."""


async def require_principal(request: Request) -> Principal:
    """Authenticate the request's bearer key (401 otherwise) and apply the principal's rate limit (429)."""
    state = state_of(request)
    preset = request.scope.get(IN_PROCESS_PRINCIPAL)
    principal = preset if isinstance(preset, Principal) else await authenticate(state.db, request, state.keys)
    state.rate_limiter.check(principal.service_account_id, request)
    request.state.principal = principal
    return principal


def principal_for(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


class AuthenticatedRoute(APIRoute):
    """A route whose every request is authenticated (401) and rate limited (429) before anything else of it runs: what
    a router-level dependency does, without FastAPI solving a dependency on every request (a fifth of a small GET)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            await require_principal(request)
            return await handler(request)

        return authenticated
