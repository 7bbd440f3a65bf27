"""What sign-in keeps in the API database, through the storage layer's `people` store: sessions, and on each `users`
resource its password hash and invite.

People are the API's `users` resources (one table for them all); their sign-in secrets live in that row's write-only
`secrets`, like an integration's credentials, so no API answer ever carries them. Session ids and invite tokens are
stored only as SHA-256 hashes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from signalcraft.server.storage import Database
from signalcraft.server.storage.people import loads


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    role: str
    password_hash: str | None
    invite_hash: str | None
    invite_expires_at: str | None


def _person(row: Any) -> Person | None:
    if row is None:
        return None
    spec = json.loads(row["spec"])
    secrets = loads(row["secrets"])
    invite = secrets.get("invite") or {}
    return Person(
        row["id"],
        row["name"],
        str(spec.get("email", "")),
        str(spec.get("role", "observer")),
        secrets.get("password_hash"),
        invite.get("hash"),
        invite.get("expires_at"),
    )


async def person_by_email(db: Database, email: str) -> Person | None:
    return _person(await db.people.by_email(email.strip()))


async def person_by_id(db: Database, person_id: str) -> Person | None:
    return _person(await db.people.by_id(person_id))


async def person_by_name(db: Database, name: str) -> Person | None:
    return _person(await db.people.by_name(name))


async def person_by_invite(db: Database, invite_hash: str) -> Person | None:
    return _person(await db.people.by_invite(invite_hash))


async def set_invite(db: Database, person_id: str, invite_hash: str, expires_at: str) -> None:
    async with db.transaction() as tx:
        row = await tx.people.by_id(person_id)
        if row is not None:
            secrets = {**loads(row["secrets"]), "invite": {"hash": invite_hash, "expires_at": expires_at}}
            await tx.people.update_secrets(person_id, secrets)


async def accept_invite(db: Database, person_id: str, invite_hash: str, password_hash: str, now: str) -> bool:
    """Set the password and spend the invite, once: a second use of the same link changes nothing."""
    async with db.transaction() as tx:
        row = await tx.people.by_id(person_id)
        if row is None:
            return False
        secrets = loads(row["secrets"])
        invite = secrets.get("invite") or {}
        if invite.get("hash") != invite_hash or str(invite.get("expires_at", "")) <= now:
            return False
        secrets.pop("invite", None)
        secrets["password_hash"] = password_hash
        status = {**loads(row["status"]), "invite_state": "active", "activated_at": now}
        await tx.people.update_secrets(person_id, secrets, status)
        return True


# ---------------------------------------------------------------- sessions


@dataclass(frozen=True)
class SessionRow:
    id_hash: str
    person_id: str
    csrf_token: str
    expires_at: float


async def create_session(db: Database, row: SessionRow, now: float) -> None:
    async with db.transaction() as tx:
        await tx.people.create_session(row.id_hash, row.person_id, row.csrf_token, now, row.expires_at)


async def find_session(db: Database, id_hash: str, now: float) -> SessionRow | None:
    row = await db.people.session(id_hash, now)
    if row is None:
        return None
    return SessionRow(row["id_hash"], row["person_id"], row["csrf_token"], float(row["expires_at"]))


async def delete_session(db: Database, id_hash: str) -> None:
    async with db.transaction() as tx:
        await tx.people.delete_session(id_hash)


async def delete_sessions_of(db: Database, person_id: str) -> None:
    async with db.transaction() as tx:
        await tx.people.delete_sessions_of(person_id)
