"""Persistence for the API server: SQLite in WAL mode behind a small interface, with versioned migrations.

All writes go through one connection inside `BEGIN IMMEDIATE` transactions, so concurrent requests serialize on the
database (never on a lost update) and a create of the same name from two clients leaves exactly one row.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

MIGRATIONS: Sequence[str] = (
    # 1: service accounts, API keys, configurable resources, idempotency records
    """
    CREATE TABLE service_accounts (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY, service_account_id TEXT NOT NULL REFERENCES service_accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL DEFAULT '', lookup TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, scopes TEXT NOT NULL,
        created_at TEXT NOT NULL, expires_at TEXT, revoked_at TEXT
    );
    CREATE TABLE resources (
        collection TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL UNIQUE,
        display_name TEXT, description TEXT, labels TEXT NOT NULL, manager TEXT, spec TEXT NOT NULL,
        status TEXT NOT NULL, secrets TEXT NOT NULL DEFAULT '{}', version INTEGER NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        manager_identity TEXT GENERATED ALWAYS AS (json_extract(manager, '$.identity')) VIRTUAL,
        PRIMARY KEY (collection, name)
    );
    CREATE INDEX resources_manager ON resources (collection, manager_identity);
    CREATE TABLE idempotency (
        principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL,
        status INTEGER, headers TEXT, body BLOB, created_at REAL NOT NULL,
        PRIMARY KEY (principal, key)
    );
    """,
    # 2: alert groups and their alerts
    """
    CREATE TABLE alert_groups (
        id TEXT PRIMARY KEY, integration TEXT NOT NULL, group_key TEXT NOT NULL, status TEXT NOT NULL,
        severity TEXT NOT NULL, summary TEXT NOT NULL, source TEXT NOT NULL, alert_policy TEXT,
        escalation_policy TEXT, alert_count INTEGER NOT NULL DEFAULT 0, truncated_alerts INTEGER NOT NULL DEFAULT 0,
        ticket TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, resolved_at TEXT,
        UNIQUE (integration, group_key)
    );
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY, group_id TEXT NOT NULL REFERENCES alert_groups(id) ON DELETE CASCADE,
        dedup_key TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL, summary TEXT NOT NULL,
        details TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL, links TEXT NOT NULL,
        images TEXT NOT NULL, occurred_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        UNIQUE (group_id, dedup_key)
    );
    CREATE INDEX alert_groups_updated ON alert_groups (updated_at);
    """,
    # 3: outbound ticket work (Jira, ServiceNow), durable so an outage delays tickets but never loses them
    """
    CREATE TABLE ticket_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL, integration TEXT NOT NULL, action TEXT NOT NULL,
        dedupe TEXT UNIQUE, state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0, last_error TEXT, created_at REAL NOT NULL
    );
    CREATE INDEX ticket_jobs_due ON ticket_jobs (state, next_attempt_at);
    """,
    # 4: a group's state from a few index lookups instead of reading all its alerts on every event
    """
    CREATE INDEX alerts_group_state ON alerts (group_id, status, severity);
    """,
    # 5: sessions of people signed in to the UI (ids stored as SHA-256 only)
    """
    CREATE TABLE ui_sessions (
        id_hash TEXT PRIMARY KEY, person_id TEXT NOT NULL, csrf_token TEXT NOT NULL,
        created_at REAL NOT NULL, expires_at REAL NOT NULL
    );
    CREATE INDEX ui_sessions_person ON ui_sessions (person_id);
    """,
)


class Database:
    """One aiosqlite connection, WAL, foreign keys on; `transaction()` serializes writers with BEGIN IMMEDIATE."""

    def __init__(self, path: Path, *, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.busy_timeout_ms = int(busy_timeout * 1000)
        """How long a statement waits for another process's lock before failing (the API answers that with 503)."""
        self._connection: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(self.path, isolation_level=None)
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA synchronous=NORMAL")
        await connection.execute("PRAGMA foreign_keys=ON")
        await connection.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        self._connection = connection
        await self.migrate()
        # Reads use their own connection: WAL lets them see the last commit while a write transaction is open.
        reader = await aiosqlite.connect(self.path, isolation_level=None)
        reader.row_factory = aiosqlite.Row
        await reader.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        self._reader = reader

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    @property
    def connection(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise RuntimeError("database is not open")
        return self._connection

    async def migrate(self) -> int:
        """Apply the migrations this database has not seen yet; return the schema version."""
        async with self.transaction() as db:
            current = (await (await db.execute("PRAGMA user_version")).fetchone())[0]  # type: ignore[index]
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in filter(str.strip, script.split(";")):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version={number}")
        return len(MIGRATIONS)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            db = self.connection
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    async def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.reader.execute_fetchall(sql, parameters)
        return next(iter(rows), None)

    async def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.reader.execute_fetchall(sql, parameters))


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
