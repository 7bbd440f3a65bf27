"""Sign-in data of people: each `users` resource's password hash and pending invite (in its write-only `secrets`),
and the UI's server-side sessions (ids stored as SHA-256 only)."""

from __future__ import annotations

import json
from typing import Any

from signalcraft.server.storage.engine import Connection, Row, dumps

_PERSON = "SELECT id, name, spec, secrets, status FROM resources WHERE collection = 'users'"


class PeopleStore:
    def __init__(self, db: Connection) -> None:
        self.db = db

    async def by_email(self, email: str) -> Row | None:
        email_text = self.db.dialect.json_text("spec", "email")
        return await self.db.fetch_one(f"{_PERSON} AND lower({email_text}) = lower(?)", (email,))

    async def by_id(self, person_id: str) -> Row | None:
        return await self.db.fetch_one(f"{_PERSON} AND id = ?", (person_id,))

    async def by_name(self, name: str) -> Row | None:
        return await self.db.fetch_one(f"{_PERSON} AND name = ?", (name,))

    async def by_invite(self, invite_hash: str) -> Row | None:
        invite = self.db.dialect.json_text("secrets", "invite", "hash")
        return await self.db.fetch_one(f"{_PERSON} AND {invite} = ?", (invite_hash,))

    async def update_secrets(
        self, person_id: str, secrets: dict[str, Any], status: dict[str, Any] | None = None
    ) -> None:
        """Replace the person's secrets (and status, when given); run inside a transaction that read them."""
        if status is None:
            await self.db.execute(
                "UPDATE resources SET secrets = ? WHERE collection = 'users' AND id = ?", (dumps(secrets), person_id)
            )
        else:
            await self.db.execute(
                "UPDATE resources SET secrets = ?, status = ? WHERE collection = 'users' AND id = ?",
                (dumps(secrets), dumps(status), person_id),
            )

    # ------------------------------------------------------------ sessions

    async def create_session(
        self, id_hash: str, person_id: str, csrf_token: str, now: float, expires_at: float
    ) -> None:
        await self.db.execute("DELETE FROM ui_sessions WHERE expires_at <= ?", (now,))
        await self.db.execute(
            "INSERT INTO ui_sessions (id_hash, person_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (id_hash, person_id, csrf_token, now, expires_at),
        )

    async def session(self, id_hash: str, now: float) -> Row | None:
        return await self.db.fetch_one(
            "SELECT id_hash, person_id, csrf_token, expires_at FROM ui_sessions WHERE id_hash = ? AND expires_at > ?",
            (id_hash, now),
        )

    async def delete_session(self, id_hash: str) -> None:
        await self.db.execute("DELETE FROM ui_sessions WHERE id_hash = ?", (id_hash,))

    async def delete_sessions_of(self, person_id: str) -> None:
        await self.db.execute("DELETE FROM ui_sessions WHERE person_id = ?", (person_id,))


def loads(text: str | None) -> dict[str, Any]:
    value = json.loads(text or "{}")
    return value if isinstance(value, dict) else {}
