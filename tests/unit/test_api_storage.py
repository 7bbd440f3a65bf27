"""The API's SQLite storage: WAL, versioned migrations that upgrade an older database in place and keep its rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from signalcraft.server.storage.migrations import SQLITE as MIGRATIONS
from signalcraft.server.storage.sqlite import SqliteEngine


async def test_a_new_database_gets_every_migration_in_wal_mode(tmp_path: Path) -> None:
    db = SqliteEngine(tmp_path / "nested" / "api.db")
    await db.open()
    try:
        assert await db.migrate() == len(MIGRATIONS), "migrating again is a no-op"
    finally:
        await db.close()
    with sqlite3.connect(tmp_path / "nested" / "api.db") as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"service_accounts", "api_keys", "resources", "idempotency", "alert_groups", "alerts"} <= tables


async def test_an_older_database_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "api.db"
    with sqlite3.connect(path) as raw:
        raw.executescript(MIGRATIONS[0])
        raw.execute("PRAGMA user_version=1")
        raw.execute("INSERT INTO service_accounts (id, name, created_at) VALUES ('sa_1', 'admin', 'now')")
    db = SqliteEngine(path)
    await db.open()
    try:
        row = await db.reader.fetch_one("SELECT name FROM service_accounts WHERE id = 'sa_1'")
        assert row is not None
        assert row["name"] == "admin"
        assert await db.reader.fetch_all("SELECT * FROM alert_groups") == [], "later migrations ran"
    finally:
        await db.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    db = SqliteEngine(tmp_path / "api.db")
    await db.open()
    try:

        async def two_accounts_named_alike() -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO service_accounts (id, name, created_at) VALUES ('sa_1', 'a', 'now')")
                await tx.execute("INSERT INTO service_accounts (id, name, created_at) VALUES ('sa_2', 'a', 'now')")

        with pytest.raises(sqlite3.IntegrityError):
            await two_accounts_named_alike()
        assert await db.reader.fetch_all("SELECT * FROM service_accounts") == []
    finally:
        await db.close()
