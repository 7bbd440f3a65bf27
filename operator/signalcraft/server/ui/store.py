"""What sign-in keeps in the API database: sessions, and on each `users` resource its password hash and invite.

People are the API's `users` resources (one table for them all); their sign-in secrets live in that row's write-only
`secrets`, like an integration's credentials, so no API answer ever carries them. Session ids and invite tokens are
stored only as SHA-256 hashes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from signalcraft.server.storage import Database, dumps


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    role: str
    password_hash: str | None
    invite_hash: str | None
    invite_expires_at: str | None


def _person(row: Any) -> Person:
    spec = json.loads(row["spec"])
    secrets = json.loads(row["secrets"] or "{}")
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
    row = await db.fetch_one(
        "SELECT id, name, spec, secrets FROM resources WHERE collection = 'users' "
        "AND lower(json_extract(spec, '$.email')) = lower(?)",
        (email.strip(),),
    )
    return _person(row) if row is not None else None


async def person_by_id(db: Database, person_id: str) -> Person | None:
    row = await db.fetch_one(
        "SELECT id, name, spec, secrets FROM resources WHERE collection = 'users' AND id = ?", (person_id,)
    )
    return _person(row) if row is not None else None


async def person_by_name(db: Database, name: str) -> Person | None:
    row = await db.fetch_one(
        "SELECT id, name, spec, secrets FROM resources WHERE collection = 'users' AND name = ?", (name,)
    )
    return _person(row) if row is not None else None


async def person_by_invite(db: Database, invite_hash: str) -> Person | None:
    row = await db.fetch_one(
        "SELECT id, name, spec, secrets FROM resources WHERE collection = 'users' "
        "AND json_extract(secrets, '$.invite.hash') = ?",
        (invite_hash,),
    )
    return _person(row) if row is not None else None


async def set_invite(db: Database, person_id: str, invite_hash: str, expires_at: str) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE resources SET secrets = json_set(coalesce(secrets, '{}'), '$.invite', json(?)) "
            "WHERE collection = 'users' AND id = ?",
            (dumps({"hash": invite_hash, "expires_at": expires_at}), person_id),
        )


async def accept_invite(db: Database, person_id: str, invite_hash: str, password_hash: str, now: str) -> bool:
    """Set the password and spend the invite, once: a second use of the same link changes nothing."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "UPDATE resources SET secrets = json_remove(json_set(coalesce(secrets, '{}'), '$.password_hash', ?), "
            "'$.invite'), status = json_set(status, '$.invite_state', 'active', '$.activated_at', ?) "
            "WHERE collection = 'users' AND id = ? AND json_extract(secrets, '$.invite.hash') = ? "
            "AND json_extract(secrets, '$.invite.expires_at') > ?",
            (password_hash, now, person_id, invite_hash, now),
        )
        return bool(cursor.rowcount)


async def set_password_hash(db: Database, person_id: str, password_hash: str) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE resources SET secrets = json_set(coalesce(secrets, '{}'), '$.password_hash', ?) "
            "WHERE collection = 'users' AND id = ?",
            (password_hash, person_id),
        )


# ---------------------------------------------------------------- sessions


@dataclass(frozen=True)
class SessionRow:
    id_hash: str
    person_id: str
    csrf_token: str
    expires_at: float


async def create_session(db: Database, row: SessionRow, now: float) -> None:
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM ui_sessions WHERE expires_at <= ?", (now,))
        await tx.execute(
            "INSERT INTO ui_sessions (id_hash, person_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (row.id_hash, row.person_id, row.csrf_token, now, row.expires_at),
        )


async def find_session(db: Database, id_hash: str, now: float) -> SessionRow | None:
    row = await db.fetch_one(
        "SELECT id_hash, person_id, csrf_token, expires_at FROM ui_sessions WHERE id_hash = ? AND expires_at > ?",
        (id_hash, now),
    )
    if row is None:
        return None
    return SessionRow(row["id_hash"], row["person_id"], row["csrf_token"], row["expires_at"])


async def delete_session(db: Database, id_hash: str) -> None:
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM ui_sessions WHERE id_hash = ?", (id_hash,))


async def delete_sessions_of(db: Database, person_id: str) -> None:
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM ui_sessions WHERE person_id = ?", (person_id,))
