"""Idempotency-Key records: taken (in flight) before the first request runs, completed with its answer."""

from __future__ import annotations

from signalcraft.server.storage.engine import Connection, Row


class IdempotencyStore:
    def __init__(self, db: Connection) -> None:
        self.db = db

    async def purge(self, before: float) -> None:
        await self.db.execute("DELETE FROM idempotency WHERE created_at < ?", (before,))

    async def get(self, owner: str, key: str) -> Row | None:
        return await self.db.fetch_one("SELECT * FROM idempotency WHERE principal = ? AND key = ?", (owner, key))

    async def take(self, owner: str, key: str, fingerprint: str, now: float) -> None:
        await self.db.execute(
            "INSERT INTO idempotency (principal, key, fingerprint, state, created_at) VALUES (?, ?, ?, 'in-flight', ?)",
            (owner, key, fingerprint, now),
        )

    async def renew(self, owner: str, key: str, now: float) -> None:
        """Take over an in-flight record whose lease ran out (its process died)."""
        await self.db.execute(
            "UPDATE idempotency SET created_at = ? WHERE principal = ? AND key = ?", (now, owner, key)
        )

    async def complete(self, owner: str, key: str, status: int, headers: str, body: bytes) -> None:
        await self.db.execute(
            "UPDATE idempotency SET state = 'done', status = ?, headers = ?, body = ? WHERE principal = ? AND key = ?",
            (status, headers, body, owner, key),
        )

    async def forget(self, owner: str, key: str) -> None:
        await self.db.execute("DELETE FROM idempotency WHERE principal = ? AND key = ?", (owner, key))
