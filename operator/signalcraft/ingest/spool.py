"""The webhook's durable spool: SQLite in WAL mode with synchronous=FULL, and group commit.

`append` returns only once the entry is on disk. Concurrent appends are gathered by one writer task into a single
transaction, so one fsync covers every request that arrived meanwhile instead of one fsync each. Entries leave the
spool only when the forwarder has had them accepted by the API.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dead_letters (
    key TEXT PRIMARY KEY, payload BLOB NOT NULL, reason TEXT NOT NULL, created_at REAL NOT NULL
);
"""
MAX_BATCH = 512


class SpoolFullError(Exception):
    """The spool holds `capacity` entries already: refuse (503) rather than lose or block."""


class SpoolUnavailableError(Exception):
    """The spool cannot be written (disk full, read-only): refuse (503) so the sender retries."""


@dataclass(frozen=True)
class Entry:
    id: int
    key: str
    payload: bytes
    created_at: float
    attempts: int


class Spool:
    def __init__(self, path: Path, *, capacity: int = 100_000, group_commit: bool = True) -> None:
        self.path = path
        self.capacity = capacity
        self.group_commit = group_commit
        self._db: sqlite3.Connection | None = None
        self._pending: asyncio.Queue[tuple[str, bytes, asyncio.Future[None]]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._depth = 0
        self._lock = asyncio.Lock()
        self._appended = asyncio.Event()
        self.commits = 0
        """Transactions that stored entries: with group commit, fewer than the entries stored."""

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await asyncio.to_thread(self._connect)
        self._depth = await asyncio.to_thread(self._count)
        self._writer = asyncio.create_task(self._write_batches(), name="spool-writer")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
        return db

    def _count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM entries").fetchone()[0])

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise SpoolUnavailableError("the spool is not open")
        return self._db

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        # Requests still waiting were never stored: they must hear so (and their senders retry).
        while not self._pending.empty():
            _, _, done = self._pending.get_nowait()
            if not done.done():
                done.set_exception(SpoolUnavailableError("the spool closed before this entry was stored"))
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def writable(self) -> bool:
        """Open, with its writer running (appends can be stored)."""
        return self._db is not None and self._writer is not None and not self._writer.done()

    @property
    def depth(self) -> int:
        return self._depth

    async def append(self, payload: bytes) -> str:
        """Durably store one entry; return its key (the idempotency key the forwarder will use)."""
        if not self.writable:
            raise SpoolUnavailableError("the spool is not open")
        if self._depth + self._pending.qsize() >= self.capacity:
            raise SpoolFullError(f"the spool holds {self.capacity} entries")
        key = str(uuid.uuid4())
        if not self.group_commit:
            async with self._lock:
                try:
                    await asyncio.to_thread(self._insert, [(key, payload)])
                except sqlite3.Error as exc:
                    raise SpoolUnavailableError(f"the spool cannot be written: {exc}") from None
            self._depth += 1
            self._appended.set()
            return key
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.put_nowait((key, payload, done))
        await done
        return key

    async def _write_batches(self) -> None:
        while True:
            batch = [await self._pending.get()]
            while len(batch) < MAX_BATCH and not self._pending.empty():
                batch.append(self._pending.get_nowait())
            try:
                async with self._lock:
                    await asyncio.to_thread(self._insert, [(key, payload) for key, payload, _ in batch])
            except Exception as exc:  # whatever failed, these requests must hear "not stored"
                failure = SpoolUnavailableError(f"the spool cannot be written: {type(exc).__name__}: {exc}")
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(failure)
                continue
            self._depth += len(batch)
            self._appended.set()
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)

    def _insert(self, rows: list[tuple[str, bytes]]) -> None:
        now = time.time()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO entries (key, payload, created_at) VALUES (?, ?, ?)", [(k, p, now) for k, p in rows]
            )
            db.execute("COMMIT")  # synchronous=FULL: this fsyncs once for the whole batch
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self.commits += 1

    async def due(self, limit: int = 50) -> list[Entry]:
        """The oldest entries, in the order they were acknowledged."""
        async with self._lock:
            rows = await asyncio.to_thread(
                lambda: self.db.execute(
                    "SELECT id, key, payload, created_at, attempts FROM entries ORDER BY id LIMIT ?", (limit,)
                ).fetchall()
            )
        return [Entry(*row) for row in rows]

    async def wait_for_append(self, at_most: float) -> None:
        """Return when an entry was stored since the last call, or after `at_most` seconds."""
        try:
            await asyncio.wait_for(self._appended.wait(), at_most)
        except TimeoutError:
            return
        finally:
            self._appended.clear()

    async def delivered(self, entries: Sequence[Entry]) -> None:
        """Remove entries the API accepted, in one transaction (one fsync however many)."""

        def delete() -> int:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                count = sum(db.execute("DELETE FROM entries WHERE id = ?", (entry.id,)).rowcount for entry in entries)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return count

        if not entries:
            return
        async with self._lock:
            deleted = await asyncio.to_thread(delete)
        self._depth -= deleted

    async def attempted(self, entry: Entry) -> None:
        """Count a failed delivery attempt of `entry` (kept for operators inspecting a stuck spool)."""
        async with self._lock:
            await asyncio.to_thread(
                lambda: self.db.execute("UPDATE entries SET attempts = attempts + 1 WHERE id = ?", (entry.id,))
            )

    async def dead_letter(self, entry: Entry, reason: str) -> None:
        """The API refused the entry for good (4xx): keep it aside for a person, never retry it."""

        def move() -> None:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT OR REPLACE INTO dead_letters (key, payload, reason, created_at) VALUES (?, ?, ?, ?)",
                (entry.key, entry.payload, reason[:1000], time.time()),
            )
            db.execute("DELETE FROM entries WHERE id = ?", (entry.id,))
            db.execute("COMMIT")

        async with self._lock:
            await asyncio.to_thread(move)
        self._depth -= 1

    async def dead_letters(self) -> list[tuple[str, str]]:
        """(key, reason) of every entry the API refused for good, oldest first."""
        async with self._lock:
            rows = await asyncio.to_thread(
                lambda: self.db.execute("SELECT key, reason FROM dead_letters ORDER BY created_at").fetchall()
            )
        return [(str(key), str(reason)) for key, reason in rows]

    async def oldest_age(self) -> float:
        async with self._lock:
            row = await asyncio.to_thread(
                lambda: self.db.execute("SELECT created_at FROM entries ORDER BY id LIMIT 1").fetchone()
            )
        return 0.0 if row is None or row[0] is None else max(0.0, time.time() - float(row[0]))
