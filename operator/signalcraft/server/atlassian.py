"""Jira Cloud by OAuth 2.0 (3LO): Atlassian's authorization-code flow with PKCE, the token exchange, the
accessible-resources lookup that yields the site's cloud id, and rotating refresh tokens.

Tokens are an integration's write-only credentials (`oauth_refresh_token`, `oauth_token`, `oauth_expires_at`,
`oauth_cloud_id`); outbound ticket calls then go to `<api>/ex/jira/<cloud id>` with the bearer token, refreshed a few
minutes before it expires. Each refresh returns a new refresh token and disables the old one, so the new one is stored
before the access token is used.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

SCOPES = ("read:jira-work", "write:jira-work", "offline_access")
REFRESH_MARGIN = 300.0
"""Refresh when the access token has less than this many seconds left."""


class OAuthError(Exception):
    """Atlassian refused (an `error` / `error_description` body) or answered something unusable."""

    def __init__(self, message: str, *, error: str = "", permanent: bool = True) -> None:
        super().__init__(message)
        self.error = error
        self.permanent = permanent


@dataclass(frozen=True)
class OAuthApp:
    """The OAuth 2.0 (3LO) app registered in Atlassian's developer console, and where Atlassian answers."""

    client_id: str
    client_secret: str
    auth_url: str = "https://auth.atlassian.com"
    api_url: str = "https://api.atlassian.com"

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        query = {
            "audience": "api.atlassian.com",
            "client_id": self.client_id,
            "scope": " ".join(SCOPES),
            "redirect_uri": redirect_uri,
            "state": state,
            "response_type": "code",
            "prompt": "consent",
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.auth_url.rstrip('/')}/authorize?{urlencode(query)}"

    def jira_base(self, cloud_id: str) -> str:
        return f"{self.api_url.rstrip('/')}/ex/jira/{cloud_id}"


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass(frozen=True)
class Grant:
    access_token: str
    refresh_token: str
    expires_at: float

    def credentials(self, cloud_id: str) -> dict[str, str]:
        return {
            "oauth_token": self.access_token,
            "oauth_refresh_token": self.refresh_token,
            "oauth_expires_at": str(int(self.expires_at)),
            "oauth_cloud_id": cloud_id,
        }


def needs_refresh(credentials: dict[str, str], now: float | None = None) -> bool:
    if not credentials.get("oauth_refresh_token"):
        return False
    expires = credentials.get("oauth_expires_at", "0")
    left = (float(expires) if expires.replace(".", "", 1).isdigit() else 0.0) - (now or time.time())
    return not credentials.get("oauth_token") or left < REFRESH_MARGIN


async def _token_call(http: httpx.AsyncClient, app: OAuthApp, body: dict[str, str]) -> Grant:
    try:
        response = await http.post(f"{app.auth_url.rstrip('/')}/oauth/token", json=body)
    except httpx.HTTPError as exc:
        raise OAuthError(f"Atlassian's token endpoint is unreachable ({type(exc).__name__})", permanent=False) from None
    try:
        answer: Any = response.json()
    except ValueError:
        answer = {}
    if response.status_code == 429 or response.status_code >= 500:
        raise OAuthError(f"Atlassian's token endpoint answered {response.status_code}", permanent=False)
    if response.status_code != 200 or not isinstance(answer, dict) or "access_token" not in answer:
        error = str(answer.get("error", "")) if isinstance(answer, dict) else ""
        description = str(answer.get("error_description", "")) if isinstance(answer, dict) else ""
        raise OAuthError(f"Atlassian refused the token request: {error} {description}".strip(), error=error)
    if not answer.get("refresh_token"):
        raise OAuthError("Atlassian returned no refresh token (is offline_access among the app's scopes?)")
    return Grant(
        str(answer["access_token"]),
        str(answer["refresh_token"]),
        time.time() + float(answer.get("expires_in", 3600)),
    )


async def exchange_code(
    http: httpx.AsyncClient, app: OAuthApp, *, code: str, redirect_uri: str, code_verifier: str
) -> Grant:
    return await _token_call(
        http,
        app,
        {
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        },
    )


async def refresh(http: httpx.AsyncClient, app: OAuthApp, refresh_token: str) -> Grant:
    return await _token_call(
        http,
        app,
        {
            "grant_type": "refresh_token",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "refresh_token": refresh_token,
        },
    )


async def cloud_id_for(http: httpx.AsyncClient, app: OAuthApp, access_token: str, site_url: str) -> str:
    """The cloud id of the site the integration points at, among the sites the grant reaches."""
    response = await http.get(
        f"{app.api_url.rstrip('/')}/oauth/token/accessible-resources",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    if response.status_code != 200:
        raise OAuthError(f"accessible-resources answered {response.status_code}", permanent=response.status_code < 500)
    resources = response.json()
    if not isinstance(resources, list) or not resources:
        raise OAuthError("the grant reaches no Atlassian site")
    wanted = urlsplit(site_url).netloc.lower()
    for resource in resources:
        if isinstance(resource, dict) and urlsplit(str(resource.get("url", ""))).netloc.lower() == wanted:
            return str(resource["id"])
    names = ", ".join(str(r.get("url")) for r in resources if isinstance(r, dict))
    raise OAuthError(f"the grant reaches {names}, none of which is {site_url}")
