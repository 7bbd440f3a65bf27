"""SQLite, the embedded default: WAL, `synchronous=FULL` (a write the API acknowledged survives a power loss), one
writer connection behind an in-process lock plus `BEGIN IMMEDIATE` (other processes wait `busy_timeout`), and a
second connection for reads, which WAL lets see the last commit while a write is open.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from signalcraft.server.storage import migrations
from signalcraft.server.storage.engine import Connection, Dialect, Result, Row, StorageUnavailable

DIALECT = Dialect("sqlite")


def _dict_row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, values, strict=True)}


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


class SqliteConnection:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.raw = connection

    @property
    def dialect(self) -> Dialect:
        return DIALECT

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        try:
            cursor: Result = await self.raw.execute(sql, args)
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StorageUnavailable("another process holds the database's write lock") from exc
            raise
        return cursor

    async def fetch_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, args)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        try:
            rows: list[Row] = list(await self.raw.execute_fetchall(sql, args))  # type: ignore[arg-type]
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StorageUnavailable("another process holds the database's write lock") from exc
            raise
        return rows


class SqliteEngine:
    dialect = DIALECT

    def __init__(self, path: Path, *, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        """How long a write waits for the lock (this process's writers, then other processes') before 503."""
        self._writer: SqliteConnection | None = None
        self._reader: SqliteConnection | None = None
        self._write_lock = asyncio.Lock()

    async def _connect(self) -> SqliteConnection:
        connection = await aiosqlite.connect(self.path, isolation_level=None)
        connection.row_factory = _dict_row  # type: ignore[assignment]
        await connection.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
        await connection.execute("PRAGMA foreign_keys=ON")
        return SqliteConnection(connection)

    async def open(self) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = await self._connect()
        await writer.raw.execute("PRAGMA journal_mode=WAL")
        # Every acknowledged write is on disk: one fdatasync per commit (≈0.3 ms here).
        await writer.raw.execute("PRAGMA synchronous=FULL")
        self._writer = writer
        await self.migrate()
        self._reader = await self._connect()

    async def close(self) -> None:
        for connection in (self._reader, self._writer):
            if connection is not None:
                await connection.raw.close()
        self._reader = self._writer = None

    @property
    def reader(self) -> Connection:
        if self._reader is None:
            raise RuntimeError("the database is not open")
        return self._reader

    @property
    def writer(self) -> SqliteConnection:
        if self._writer is None:
            raise RuntimeError("the database is not open")
        return self._writer

    async def migrate(self) -> int:
        """Apply the migrations this database has not seen yet; return the schema version."""
        async with self.transaction() as db:
            row = await db.fetch_one("PRAGMA user_version")
            current = int(next(iter(row.values()))) if row is not None else 0
            for number, script in enumerate(migrations.SQLITE[current:], start=current + 1):
                for statement in migrations.statements(script):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version={number}")
        return len(migrations.SQLITE)

    @asynccontextmanager
    async def transaction(self, *, exclusive: bool = True) -> AsyncIterator[Connection]:
        try:
            async with asyncio.timeout(self.busy_timeout):
                await self._write_lock.acquire()
        except TimeoutError:
            raise StorageUnavailable("the write lock is taken; retry shortly") from None
        try:
            db = self.writer
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await self._rollback()
                raise
            try:
                await db.raw.execute("COMMIT")
            except sqlite3.Error as exc:
                # SQLite leaves the transaction open when COMMIT fails: end it, or every later BEGIN would fail.
                await self._rollback()
                raise StorageUnavailable("the database could not commit; nothing was written") from exc
        finally:
            self._write_lock.release()

    async def _rollback(self) -> None:
        if self.writer.raw.in_transaction:
            await self.writer.raw.execute("ROLLBACK")
