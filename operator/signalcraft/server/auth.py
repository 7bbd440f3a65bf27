"""Service accounts and API keys: random, prefixed, stored hashed, scoped, expiring, revocable.

A key looks like `sc_<lookup>_<secret>`; only the lookup part is stored in clear (to find the row), the whole key as a
SHA-256 hash compared in constant time. Every failure is the same 401, so a caller cannot tell a wrong key from an
expired or revoked one, or whether a key exists at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from signalcraft.server.problems import Problem
from signalcraft.server.storage import Storage

KEY_PATTERN = re.compile(r"^sc_([a-z0-9]{12})_([A-Za-z0-9_-]{32,64})$")
LEVELS = ("read", "write", "manage")


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def generate_key() -> tuple[str, str, str]:
    """(key, lookup, hash): the key is shown once; only lookup and hash are stored."""
    lookup = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    key = f"sc_{lookup}_{secrets.token_urlsafe(32)}"
    return key, lookup, _hash(key)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    service_account_id: str
    service_account: str
    key_id: str
    scopes: frozenset[str]

    def allows(self, resource: str, level: str) -> bool:
        if "*" in self.scopes:
            return True
        if level in LEVELS:
            wanted = LEVELS.index(level)
            return any(f"{resource}:{held}" in self.scopes for held in LEVELS[wanted:])
        return f"{resource}:{level}" in self.scopes

    def holds(self, scope: str) -> bool:
        """Whether this key carries `scope` (one of an API key's scopes, e.g. `teams:write` or `*`)."""
        if scope == "*":
            return "*" in self.scopes
        resource, _, level = scope.partition(":")
        return self.allows(resource, level)

    def require(self, resource: str, level: str) -> None:
        if not self.allows(resource, level):
            raise Problem(403, "insufficient-scope", f"this API key lacks the scope {resource}:{level}")


UNAUTHENTICATED = Problem(
    401,
    "unauthenticated",
    "a valid API key is required: Authorization: Bearer <key>",
    headers={"WWW-Authenticate": 'Bearer realm="signalcraft"'},
)


class KeyCache:
    """Keys this process verified in the last `ttl` seconds, by the hash of the presented key, so a busy client costs
    one database read per second instead of one per request.

    A change this process makes (revoke, disable, delete) clears it at once; another replica's change is seen here
    within `ttl`. Entries keep the key's expiry, checked on every use.
    """

    def __init__(self, ttl: float = 1.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[float, Principal, str | None]] = {}

    def get(self, hashed: str) -> Principal | None:
        entry = self._entries.get(hashed)
        if entry is None:
            return None
        until, principal, expires_at = entry
        if until < time.monotonic() or (expires_at is not None and expires_at <= now_text()):
            del self._entries[hashed]
            return None
        return principal

    def put(self, hashed: str, principal: Principal, expires_at: str | None) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[hashed] = (time.monotonic() + self.ttl, principal, expires_at)

    def clear(self) -> None:
        self._entries.clear()


async def authenticate(db: Storage, request: Request, cache: KeyCache | None = None) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    match = KEY_PATTERN.match(key.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise UNAUTHENTICATED
    presented = _hash(key.strip())
    if cache is not None and (known := cache.get(presented)) is not None:
        return known
    row = await db.accounts.credential(match.group(1))
    stored = row["hash"] if row is not None else _hash("absent")
    valid = hmac.compare_digest(presented, stored) and row is not None
    if not valid or row is None or row["revoked_at"] or row["disabled"]:
        raise UNAUTHENTICATED
    if row["expires_at"] and row["expires_at"] <= now_text():
        raise UNAUTHENTICATED
    principal = Principal(row["sa_id"], row["name"], row["id"], frozenset(json.loads(row["scopes"])))
    if cache is not None:
        cache.put(presented, principal, row["expires_at"])
    return principal


async def held_scopes(db: Storage, service_account_id: str) -> set[str]:
    """The scopes an account's usable keys (neither revoked nor expired) carry between them."""
    rows = await db.accounts.usable_key_scopes(service_account_id, now_text())
    return {scope for row in rows for scope in json.loads(row["scopes"])}


async def create_service_account(db: Storage, name: str, description: str = "") -> str:
    account_id = new_id("sa")
    async with db.transaction() as tx:
        await tx.accounts.create(account_id, name, description, now_text())
    return account_id


async def issue_key(
    db: Storage, service_account_id: str, scopes: list[str], *, name: str = "", expires_at: str | None = None
) -> tuple[str, str]:
    """(key id, key): the key is returned here and never again."""
    key, lookup, hashed = generate_key()
    key_id = new_id("key")
    async with db.transaction() as tx:
        await tx.accounts.add_key(key_id, service_account_id, name, lookup, hashed, scopes, now_text(), expires_at)
    return key_id, key
