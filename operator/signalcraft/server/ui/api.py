"""The UI is a client of API v1: it calls the API's own routes in-process, as the signed-in person.

Going through the routes (not around them) keeps one set of rules: validation, scopes, ownership by a `manager`,
problem+json errors, and for test alerts the real webhook ingestion path. The person's principal travels in the ASGI
scope, which nothing outside this process can set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from signalcraft.server.auth import Principal
from signalcraft.server.context import IN_PROCESS_PRINCIPAL


@dataclass
class ApiProblem(Exception):
    """A problem+json answer of the API, for the page to show."""

    status: int
    code: str
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        extra = "; ".join(f"{e.get('pointer', '')}: {e.get('detail', '')}" for e in self.errors)
        return f"{self.detail} ({extra})" if extra else self.detail


class _AsPrincipal:
    def __init__(self, app: ASGIApp, principal: Principal | None) -> None:
        self.app = app
        self.principal = principal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.principal is not None:
            scope = {**scope, IN_PROCESS_PRINCIPAL: self.principal}
        await self.app(scope, receive, send)


class Api:
    """API v1 as `principal` (None: unauthenticated, for webhook routes that authenticate by their token)."""

    def __init__(self, app: ASGIApp, principal: Principal | None, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_AsPrincipal(app, principal)), base_url=self.base_url, timeout=30
        )

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._client.request(method, path, **kwargs)
        if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            body = response.json()
            if isinstance(body, dict) and "code" in body:
                raise ApiProblem(
                    response.status_code, str(body["code"]), str(body.get("detail", "")), body.get("errors") or []
                )
        return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiProblem(response.status_code, "http-error", response.text[:300])
        return response.json() if response.content else None

    # ----------------------------------------------------------- integrations

    async def integrations(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
            page = await self.json("GET", "/v1/integrations", params=params)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    async def integration(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.json("GET", f"/v1/integrations/{quote(name, safe='')}")
        return found

    async def connection(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.json("GET", f"/v1/integrations/{quote(name, safe='')}/connection")
        return found
