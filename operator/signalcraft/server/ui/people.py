"""People signing in: argon2 password hashes, one-time invite links, server-side sessions, CSRF tokens, a login rate
limit, and roles mapped onto the same scopes API keys carry (so every check downstream is the API's own).

The session cookie holds a random id (stored as its SHA-256 only), is HttpOnly, SameSite=Lax, and Secure whenever
the page was served over TLS. Every form carries a CSRF token: the session's own (synchronizer token) once signed
in, and before that a double-submit token bound to a separate cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Request, Response

from signalcraft.server.auth import Principal
from signalcraft.server.problems import Problem
from signalcraft.server.ratelimit import RateLimiter
from signalcraft.server.storage import Database
from signalcraft.server.ui import store

SESSION_COOKIE = "signalcraft_session"
PRELOGIN_COOKIE = "signalcraft_csrf"
SESSION_SECONDS = 12 * 3600
INVITE_DAYS = 7
MIN_PASSWORD = 12

CONFIG_RESOURCES = (
    "users",
    "workspace",
    "teams",
    "schedules",
    "escalation_policies",
    "alert_policies",
    "routing_rules",
    "integrations",
)
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "owner": frozenset({"*"}),
    "admin": frozenset(
        {f"{resource}:write" for resource in CONFIG_RESOURCES}
        | {"integrations:read_secrets", "alert_groups:write", "events:write", "service_accounts:read"}
    ),
    "responder": frozenset(
        {f"{resource}:read" for resource in CONFIG_RESOURCES} | {"alert_groups:write", "events:write"}
    ),
    "observer": frozenset({f"{resource}:read" for resource in CONFIG_RESOURCES} | {"alert_groups:read"}),
}
"""A person's role as API scopes: the same strings API keys hold, checked by the same code."""

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the person has a password (a missing one verifies against a dummy hash)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str, email: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > 1024:
        return "Use at most 1024 characters."
    if password.strip().lower() == email.strip().lower():
        return "Do not use your email address as the password."
    return None


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Viewer:
    """The signed-in person of a request, with what the API lets them do."""

    person: store.Person
    session: store.SessionRow

    @property
    def email(self) -> str:
        return self.person.email

    @property
    def role(self) -> str:
        return self.person.role

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    @property
    def principal(self) -> Principal:
        scopes = ROLE_SCOPES.get(self.person.role, ROLE_SCOPES["observer"])
        return Principal(f"user:{self.person.id}", f"user:{self.person.name}", "session", scopes)

    def can(self, resource: str, level: str) -> bool:
        return self.principal.allows(resource, level)


def is_tls(request: Request) -> bool:
    return request.url.scheme == "https"


async def current_viewer(db: Database, request: Request) -> Viewer | None:
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if not session_id or len(session_id) > 128:
        return None
    row = await store.find_session(db, digest(session_id), time.time())
    if row is None:
        return None
    person = await store.person_by_id(db, row.person_id)
    if person is None:  # the user was deleted: the session ends with them
        await store.delete_session(db, row.id_hash)
        return None
    return Viewer(person, row)


async def start_session(db: Database, request: Request, response: Response, person: store.Person) -> None:
    session_id = secrets.token_urlsafe(32)
    now = time.time()
    row = store.SessionRow(digest(session_id), person.id, secrets.token_urlsafe(32), now + SESSION_SECONDS)
    await store.create_session(db, row, now)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_SECONDS,
        httponly=True,
        secure=is_tls(request),
        samesite="lax",
        path="/",
    )
    response.delete_cookie(PRELOGIN_COOKIE, path="/ui", httponly=True, secure=is_tls(request), samesite="strict")


async def end_session(db: Database, request: Request, response: Response) -> None:
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if session_id:
        await store.delete_session(db, digest(session_id))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, secure=is_tls(request), samesite="lax")


def prelogin_token(request: Request) -> str:
    """The double-submit CSRF token of the sign-in forms (before there is a session): the cookie's, or a new one."""
    token = request.cookies.get(PRELOGIN_COOKIE, "")
    return token if 20 <= len(token) <= 128 else secrets.token_urlsafe(32)


def set_prelogin_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        PRELOGIN_COOKIE, token, max_age=3600, httponly=True, secure=is_tls(request), samesite="strict", path="/ui"
    )


def csrf_valid(expected: str | None, offered: str | None) -> bool:
    return bool(expected) and bool(offered) and hmac.compare_digest(str(expected), str(offered))


def new_invite() -> tuple[str, str, str]:
    """(token for the link, its hash to store, expiry)."""
    token = secrets.token_urlsafe(32)
    expires = (datetime.now(UTC) + timedelta(days=INVITE_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return token, digest(token), expires


class LoginLimiter:
    """Sign-in attempts per email address (5, then one a minute) and per client address (20, then one every 6 s).

    Failed and successful attempts count alike, so guessing is slow whichever way it goes; the answer to a limited
    attempt is 429 with Retry-After, and the password is not even checked.
    """

    def __init__(self, per_second: float = 1 / 60, burst: float = 5.0) -> None:
        self.by_email = RateLimiter(per_second, burst, "login-per-email")
        self.by_client = RateLimiter(per_second * 10, burst * 4, "login-per-client")

    def retry_after(self, request: Request, email: str) -> str | None:
        """None when the attempt may go ahead, else the Retry-After seconds."""
        client = request.client.host if request.client is not None else ""
        for limiter, key in ((self.by_email, email.strip().lower()), (self.by_client, client)):
            try:
                limiter.check(key, request)
            except Problem as refused:
                return refused.headers.get("Retry-After", "1")
        return None
