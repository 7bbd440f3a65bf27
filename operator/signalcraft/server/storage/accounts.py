"""Service accounts and their API keys (stored as a lookup prefix and a hash, never the key)."""

from __future__ import annotations

from collections.abc import Sequence

from signalcraft.server.storage.engine import Connection, Row, dumps


class AccountStore:
    def __init__(self, db: Connection) -> None:
        self.db = db

    async def by_name(self, name: str) -> Row | None:
        return await self.db.fetch_one("SELECT * FROM service_accounts WHERE name = ?", (name,))

    async def create(self, account_id: str, name: str, description: str, now: str) -> None:
        await self.db.execute(
            "INSERT INTO service_accounts (id, name, description, created_at) VALUES (?, ?, ?, ?)",
            (account_id, name, description, now),
        )

    async def page(self, after: str, limit: int) -> list[Row]:
        return await self.db.fetch_all(
            "SELECT * FROM service_accounts WHERE name > ? ORDER BY name LIMIT ?", (after, limit)
        )

    async def set_disabled(self, account_id: str, disabled: bool) -> None:
        await self.db.execute("UPDATE service_accounts SET disabled = ? WHERE id = ?", (int(disabled), account_id))

    async def delete(self, account_id: str) -> None:
        await self.db.execute("DELETE FROM service_accounts WHERE id = ?", (account_id,))

    async def add_key(  # noqa: PLR0917 - one column each
        self,
        key_id: str,
        account_id: str,
        name: str,
        lookup: str,
        hashed: str,
        scopes: Sequence[str],
        now: str,
        expires_at: str | None,
    ) -> None:
        await self.db.execute(
            "INSERT INTO api_keys (id, service_account_id, name, lookup, hash, scopes, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key_id, account_id, name, lookup, hashed, dumps(sorted(scopes)), now, expires_at),
        )

    async def key(self, key_id: str) -> Row | None:
        """The key's row with its account's name as `account`."""
        return await self.db.fetch_one(
            "SELECT k.*, s.name AS account FROM api_keys k JOIN service_accounts s ON s.id = k.service_account_id "
            "WHERE k.id = ?",
            (key_id,),
        )

    async def keys(self, account_id: str, after: str, limit: int) -> list[Row]:
        return await self.db.fetch_all(
            "SELECT * FROM api_keys WHERE service_account_id = ? AND id > ? ORDER BY id LIMIT ?",
            (account_id, after, limit),
        )

    async def revoke_key(self, key_id: str, now: str) -> None:
        await self.db.execute("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", (now, key_id))

    async def usable_key_scopes(self, account_id: str, now: str) -> list[Row]:
        """`scopes` of the account's keys that are neither revoked nor expired at `now`."""
        return await self.db.fetch_all(
            "SELECT scopes FROM api_keys WHERE service_account_id = ? AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (account_id, now),
        )

    async def credential(self, lookup: str) -> Row | None:
        """What authentication needs for the key with this lookup prefix: its hash, scopes, validity, account."""
        return await self.db.fetch_one(
            "SELECT k.id, k.hash, k.scopes, k.expires_at, k.revoked_at, s.id AS sa_id, s.name, s.disabled "
            "FROM api_keys k JOIN service_accounts s ON s.id = k.service_account_id WHERE k.lookup = ?",
            (lookup,),
        )
