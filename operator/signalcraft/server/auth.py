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
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from signalcraft.server.problems import Problem
from signalcraft.server.storage import Database, dumps

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


async def authenticate(db: Database, request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    match = KEY_PATTERN.match(key.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise UNAUTHENTICATED
    row = await db.fetch_one(
        "SELECT k.id, k.hash, k.scopes, k.expires_at, k.revoked_at, s.id AS sa_id, s.name, s.disabled "
        "FROM api_keys k JOIN service_accounts s ON s.id = k.service_account_id WHERE k.lookup = ?",
        (match.group(1),),
    )
    presented = _hash(key.strip())
    stored = row["hash"] if row is not None else _hash("absent")
    valid = hmac.compare_digest(presented, stored) and row is not None
    if not valid or row is None or row["revoked_at"] or row["disabled"]:
        raise UNAUTHENTICATED
    if row["expires_at"] and row["expires_at"] <= now_text():
        raise UNAUTHENTICATED
    return Principal(row["sa_id"], row["name"], row["id"], frozenset(json.loads(row["scopes"])))


async def held_scopes(db: Database, service_account_id: str) -> set[str]:
    """The scopes an account's usable keys (neither revoked nor expired) carry between them."""
    rows = await db.fetch_all(
        "SELECT scopes FROM api_keys WHERE service_account_id = ? AND revoked_at IS NULL "
        "AND (expires_at IS NULL OR expires_at > ?)",
        (service_account_id, now_text()),
    )
    return {scope for row in rows for scope in json.loads(row["scopes"])}


async def create_service_account(db: Database, name: str, description: str = "") -> str:
    account_id = new_id("sa")
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO service_accounts (id, name, description, created_at) VALUES (?, ?, ?, ?)",
            (account_id, name, description, now_text()),
        )
    return account_id


async def issue_key(
    db: Database, service_account_id: str, scopes: list[str], *, name: str = "", expires_at: str | None = None
) -> tuple[str, str]:
    """(key id, key): the key is returned here and never again."""
    key, lookup, hashed = generate_key()
    key_id = new_id("key")
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO api_keys (id, service_account_id, name, lookup, hash, scopes, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key_id, service_account_id, name, lookup, hashed, dumps(sorted(scopes)), now_text(), expires_at),
        )
    return key_id, key
