"""SQLite, the embedded default: WAL, `synchronous=FULL` (a write the API acknowledged survives a power loss), one
writer connection behind an in-process lock plus `BEGIN IMMEDIATE` (other processes wait `busy_timeout`), and a
second connection for reads, which WAL lets see the last commit while a write is open.

Statements run on the event loop's thread: a read or a write statement on pages in the cache takes microseconds,
less than handing it to a thread and back (which is what a driver such as aiosqlite does for every statement). The two
things that can wait run in this engine's own thread instead: the COMMIT (its fsync) and a `BEGIN IMMEDIATE` that
finds another process holding the write lock.

Group commit: a write transaction ends with a savepoint released, not a COMMIT; the transactions that queued for the
writer while one COMMIT was on disk then run one after another in the next database transaction, and a single COMMIT
(one fsync) makes all of them durable. None of them returns before its COMMIT succeeded, so nothing is acknowledged
that is not on disk; a failed COMMIT fails every transaction of the group (503, nothing of them kept), and a
transaction that raises is rolled back to its savepoint without touching the others.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from signalcraft.server.storage import migrations
from signalcraft.server.storage.engine import Connection, Dialect, Result, Row, StorageUnavailable, acquire_write_lock

DIALECT = Dialect("sqlite")
_T = TypeVar("_T")


def _dict_row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
    return dict(zip([column[0] for column in cursor.description], values, strict=True))


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


class SqliteConnection:
    """One sqlite3 connection, used by one coroutine at a time (the engine's lock sees to the writer)."""

    def __init__(self, connection: sqlite3.Connection, engine: SqliteEngine) -> None:
        self.raw = connection
        self._engine = engine

    @property
    def dialect(self) -> Dialect:
        return DIALECT

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        return await self._run(lambda: self.raw.execute(sql, args))

    async def fetch_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, args)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = await self._run(lambda: self.raw.execute(sql, args).fetchall())
        return rows

    async def _run(self, statement: Callable[[], _T]) -> _T:
        """On the loop's thread; a statement that finds the database locked by another process (the connections
        wait 0 ms on their own) waits for it in the engine's thread, up to the busy timeout."""
        try:
            return statement()
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        return await self._engine.waiting(self.raw, statement)


class SqliteEngine:
    dialect = DIALECT

    def __init__(self, path: Path, *, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        """How long a write waits for the lock (this process's writers, then other processes') before 503."""
        self._writer: SqliteConnection | None = None
        self._reader: SqliteConnection | None = None
        self._write_lock = asyncio.Lock()
        self._thread: ThreadPoolExecutor | None = None
        self._open_transaction = False
        """The writer is inside BEGIN IMMEDIATE ... (finished transactions waiting for their group's COMMIT)."""
        self._group: list[asyncio.Future[None]] = []
        self._committer: asyncio.Task[None] | None = None

    def _connect(self) -> SqliteConnection:
        # The loop's thread runs the statements, the engine's thread only a COMMIT or a wait for the lock, never both
        # at once (the write lock, or one reader coroutine at a time): sharing the connection between them is safe.
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.row_factory = _dict_row
        connection.execute("PRAGMA busy_timeout=0")
        connection.execute("PRAGMA foreign_keys=ON")
        return SqliteConnection(connection, self)

    async def open(self) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        writer = self._connect()
        await writer.execute("PRAGMA journal_mode=WAL")
        # Every acknowledged write is on disk: one fdatasync per COMMIT, and one COMMIT per group of transactions.
        await writer.execute("PRAGMA synchronous=FULL")
        self._writer = writer
        await self.migrate()
        self._reader = self._connect()

    async def close(self) -> None:
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)
        for connection in (self._reader, self._writer):
            if connection is not None:
                connection.raw.close()
        self._reader = self._writer = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

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

    async def _in_thread(self, work: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work)

    async def waiting(self, connection: sqlite3.Connection, statement: Callable[[], _T]) -> _T:
        """Run `statement` in the engine's thread, SQLite waiting up to the busy timeout for another process's lock."""

        def patiently() -> _T:
            connection.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            try:
                return statement()
            finally:
                connection.execute("PRAGMA busy_timeout=0")

        try:
            return await self._in_thread(patiently)
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StorageUnavailable("another process holds the database's write lock") from exc
            raise

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
        started = time.monotonic()
        await acquire_write_lock(self._write_lock, self.busy_timeout)
        committed: asyncio.Future[None] | None = None
        try:
            db = self.writer
            if not self._open_transaction:
                remaining = max(0.0, self.busy_timeout - (time.monotonic() - started))
                await self._begin(remaining)
            db.raw.execute("SAVEPOINT request")
            try:
                yield db
            except BaseException:
                self._undo_request()
                raise
            db.raw.execute("RELEASE request")
            committed = asyncio.get_running_loop().create_future()
            self._group.append(committed)
            if self._committer is None:
                self._committer = asyncio.create_task(self._commit_group(), name="sqlite-group-commit")
        finally:
            self._write_lock.release()
        assert committed is not None
        await asyncio.shield(committed)

    async def _begin(self, wait: float) -> None:
        raw = self.writer.raw
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            # Another process writes: wait for it in the engine's thread, at most what is left of the busy timeout.
            try:
                await self._in_thread(lambda: _begin_waiting(raw, wait))
            except sqlite3.OperationalError as exc:
                if _busy(exc):
                    raise StorageUnavailable("another process holds the database's write lock") from exc
                raise
        self._open_transaction = True

    def _undo_request(self) -> None:
        """Roll this request back to its savepoint; if SQLite already ended the whole transaction (some errors do),
        the group's earlier requests are lost with it and fail too."""
        raw = self.writer.raw
        if raw.in_transaction and not self._group:
            # No earlier transaction of the group waits for this COMMIT: end it here, so the database's write lock is
            # not held until the next write comes.
            raw.execute("ROLLBACK")
            self._open_transaction = False
            return
        if raw.in_transaction:
            try:
                raw.execute("ROLLBACK TO request")
                raw.execute("RELEASE request")
                return
            except sqlite3.Error:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
        self._open_transaction = False
        self._fail_group(StorageUnavailable("the database rolled the transaction back; nothing was written"))

    def _fail_group(self, error: StorageUnavailable) -> None:
        group, self._group = self._group, []
        for waiter in group:
            if not waiter.done():
                waiter.set_exception(error)

    async def _commit_group(self) -> None:
        """COMMIT the open transaction once the transactions already queued for the writer have joined it."""
        async with self._write_lock:
            self._committer = None
            group, self._group = self._group, []
            if not group:
                return
            raw = self.writer.raw
            try:
                await self._in_thread(lambda: raw.execute("COMMIT"))
            except sqlite3.Error:
                # SQLite leaves the transaction open when COMMIT fails: end it, or every later BEGIN would fail.
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                self._group = group
                self._fail_group(StorageUnavailable("the database could not commit; nothing was written"))
                return
            finally:
                self._open_transaction = False
            for waiter in group:
                if not waiter.done():
                    waiter.set_result(None)


def _begin_waiting(raw: sqlite3.Connection, wait: float) -> None:
    raw.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
    try:
        raw.execute("BEGIN IMMEDIATE")
    finally:
        raw.execute("PRAGMA busy_timeout=0")
