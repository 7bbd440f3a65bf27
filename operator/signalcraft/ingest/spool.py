"""The webhook's durable spool: SQLite in WAL mode with synchronous=FULL, and group commit.

`append` returns only once the request's entries are on disk, all of them in one transaction. Concurrent appends are
gathered by one writer task into a single transaction, so one fsync covers every request that arrived meanwhile
instead of one fsync each. Entries leave the spool only when the forwarder has had them accepted by the API (or the
API refused them for good: then they become dead letters, kept for a person to inspect and retry).

Each entry is one batch of events of one alert group (its *lane*), already within the API's limits; the spool caps
both the number of entries and their bytes, and refuses (503) beyond either rather than lose or block.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from signalcraft.ingest.pipeline import Batch

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
ADDED_COLUMNS = {
    "entries": {"lane": "TEXT NOT NULL DEFAULT ''", "events": "INTEGER NOT NULL DEFAULT 0"},
    "dead_letters": {"lane": "TEXT NOT NULL DEFAULT ''", "events": "INTEGER NOT NULL DEFAULT 0"},
}
"""Columns later releases added; a spool written by an earlier release gets them on open (see `_upgrade`)."""
MAX_BATCH = 512
INSERT_CHUNK = 500
"""Rows per INSERT statement: 5 parameters each, well within SQLite's 32,766 per statement."""
DEFAULT_CAPACITY_BYTES = 1024 * 1024 * 1024


class SpoolFullError(Exception):
    """The spool holds `capacity` entries or `capacity_bytes` bytes already: refuse (503) rather than lose or block."""


class SpoolUnavailableError(Exception):
    """The spool cannot be written (disk full, read-only): refuse (503) so the sender retries."""


@dataclass(frozen=True)
class Entry:
    id: int
    key: str
    payload: bytes
    """The JSON array of the entry's events, as the `events` of a `POST /v1/alert-events` body."""
    created_at: float
    attempts: int
    lane: str
    events: int
    size: int
    """Bytes of the payload (also when the payload itself was not loaded, see `Spool.due`)."""


@dataclass(frozen=True)
class DeadLetter:
    key: str
    reason: str
    created_at: float
    events: int


def connect(path: Path) -> sqlite3.Connection:
    """A connection to a spool file (created if missing), schema current, for this process or the CLI."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    _upgrade(db)
    return db


def _reader(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA query_only=1")
    return db


def _upgrade(db: sqlite3.Connection) -> None:
    """Add the newer columns, and rewrite entries of the earlier format (a whole `{"events": [...]}` body each)."""
    for table, columns in ADDED_COLUMNS.items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, declaration in columns.items():
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")
    for table, id_column in (("entries", "id"), ("dead_letters", "key")):
        old = db.execute(f"SELECT {id_column}, payload FROM {table} WHERE events = 0").fetchall()  # noqa: S608
        for ident, payload in old:
            try:
                events = json.loads(payload)["events"]
                lane = _lane(events[0]) if events else ""
            except (ValueError, KeyError, TypeError, IndexError):
                events, lane = None, ""
            if events is None:
                continue  # unreadable: the forwarder makes it a dead letter with its reason
            db.execute(
                f"UPDATE {table} SET payload = ?, lane = ?, events = ? WHERE {id_column} = ?",  # noqa: S608
                (json.dumps(events).encode(), lane, len(events), ident),
            )


def _lane(event: Any) -> str:
    return hashlib.sha256(f"{event.get('integration', '')}\x00{event.get('group_key', '')}".encode()).hexdigest()[:16]


def _in_transaction(db: sqlite3.Connection, statements: Iterable[tuple[str, Sequence[Any]]]) -> list[int]:
    db.execute("BEGIN IMMEDIATE")
    try:
        counts = [db.execute(sql, args).rowcount for sql, args in statements]
        db.execute("COMMIT")  # synchronous=FULL: one fsync for the whole transaction
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return counts


def _insert_rows(db: sqlite3.Connection, values: Sequence[tuple[str, bytes, float, str, int]]) -> None:
    placeholders = ",".join(["(?, ?, ?, ?, ?)"] * len(values))
    sql = f"INSERT INTO entries (key, payload, created_at, lane, events) VALUES {placeholders}"  # noqa: S608
    db.execute(sql, [value for row in values for value in row])


Pending = tuple[list[tuple[str, Batch]], asyncio.Future[None]]


class Spool:
    def __init__(
        self,
        path: Path,
        *,
        capacity: int = 100_000,
        capacity_bytes: int = DEFAULT_CAPACITY_BYTES,
        group_commit: bool = True,
    ) -> None:
        self.path = path
        self.capacity = capacity
        self.capacity_bytes = capacity_bytes
        self.group_commit = group_commit
        self._db: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        """A second connection for the forwarder's reads: in WAL mode they see every committed entry and never wait
        for (nor hold up) the writer, whose group commits then wait only for other writes."""
        self._reading = threading.Lock()
        self._pending: asyncio.Queue[Pending] = asyncio.Queue()
        self._pending_entries = 0
        self._pending_bytes = 0
        self._writer: asyncio.Task[None] | None = None
        self._depth = 0
        self._bytes = 0
        self._dead = 0
        self._lock = asyncio.Lock()
        self._appended = asyncio.Event()
        self.commits = 0
        """Transactions that stored entries: with group commit, fewer than the entries stored."""
        self._key_prefix = uuid.uuid4().hex
        self._key_serial = itertools.count()
        """Entry keys: unique per spool instance (a random prefix) and per entry (a counter), without asking the
        operating system for randomness on every request."""

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await asyncio.to_thread(connect, self.path)
        self._reader = await asyncio.to_thread(_reader, self.path)
        self._depth, self._bytes, self._dead = await asyncio.to_thread(self._count)
        self._writer = asyncio.create_task(self._write_batches(), name="spool-writer")

    def _count(self) -> tuple[int, int, int]:
        depth, size = self.db.execute("SELECT count(*), coalesce(sum(length(payload)), 0) FROM entries").fetchone()
        dead = self.db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        return int(depth), int(size), int(dead)

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
            _, done = self._pending.get_nowait()
            if not done.done():
                done.set_exception(SpoolUnavailableError("the spool closed before this entry was stored"))
        if self._reader is not None:
            self._reader.close()
            self._reader = None
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

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def dead_letter_count(self) -> int:
        return self._dead

    @property
    def full(self) -> bool:
        return self._depth >= self.capacity or self._bytes >= self.capacity_bytes

    async def append(self, batches: Sequence[Batch]) -> list[str]:
        """Durably store a request's batches, all or none; return their keys (the forwarder's idempotency keys)."""
        if not self.writable:
            raise SpoolUnavailableError("the spool is not open")
        size = sum(len(batch.events) for batch in batches)
        if self._depth + self._pending_entries + len(batches) > self.capacity:
            raise SpoolFullError(f"the spool holds {self.capacity} entries")
        if self._bytes + self._pending_bytes + size > self.capacity_bytes:
            raise SpoolFullError(f"the spool holds {self.capacity_bytes} bytes")
        rows = [(f"{self._key_prefix}-{next(self._key_serial)}", batch) for batch in batches]
        if not self.group_commit:
            async with self._lock:
                try:
                    await asyncio.to_thread(self._insert, rows)
                except sqlite3.Error as exc:
                    raise SpoolUnavailableError(f"the spool cannot be written: {exc}") from None
                self._stored(rows)
            return [key for key, _ in rows]
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending_entries += len(rows)
        self._pending_bytes += size
        self._pending.put_nowait((rows, done))
        await done
        return [key for key, _ in rows]

    def _stored(self, rows: Sequence[tuple[str, Batch]]) -> None:
        self._depth += len(rows)
        self._bytes += sum(len(batch.events) for _, batch in rows)
        self._appended.set()

    async def _write_batches(self) -> None:
        while True:
            waiting = [await self._pending.get()]
            count = len(waiting[0][0])
            while count < MAX_BATCH and not self._pending.empty():
                waiting.append(self._pending.get_nowait())
                count += len(waiting[-1][0])
            rows = [row for request, _ in waiting for row in request]
            self._pending_entries -= len(rows)
            self._pending_bytes -= sum(len(batch.events) for _, batch in rows)
            try:
                async with self._lock:
                    await asyncio.to_thread(self._insert, rows)
                    self._stored(rows)
            except Exception as exc:  # whatever failed, these requests must hear "not stored"
                failure = SpoolUnavailableError(f"the spool cannot be written: {type(exc).__name__}: {exc}")
                for _, done in waiting:
                    if not done.done():
                        done.set_exception(failure)
                continue
            for _, done in waiting:
                if not done.done():
                    done.set_result(None)

    def _insert(self, rows: list[tuple[str, Batch]]) -> None:
        """Store `rows` in one transaction, in as few statements as possible.

        Each statement releases the GIL while SQLite works and must take it back afterwards; with the event loop
        busy parsing requests, every take can wait a switch interval, so one multi-row INSERT (its own transaction
        in autocommit mode: all rows or none, one fsync with synchronous=FULL) answers much sooner than one per row.
        """
        now = time.time()
        values = [(key, batch.events, now, batch.lane, batch.count) for key, batch in rows]
        chunks = [values[start : start + INSERT_CHUNK] for start in range(0, len(values), INSERT_CHUNK)]
        db = self.db
        if len(chunks) == 1:
            _insert_rows(db, chunks[0])
        else:
            db.execute("BEGIN IMMEDIATE")
            try:
                for chunk in chunks:
                    _insert_rows(db, chunk)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        self.commits += 1

    async def due(self, limit: int = 1000, *, payloads: bool = True) -> list[Entry]:
        """The oldest entries, in the order they were acknowledged; without `payloads`, their payloads are b""
        (cheap to scan; `load` them once chosen)."""
        payload = "payload" if payloads else "x''"
        sql = (
            f"SELECT id, key, {payload}, created_at, attempts, lane, events, length(payload) "  # noqa: S608
            "FROM entries ORDER BY id LIMIT ?"
        )
        rows = await asyncio.to_thread(self._read, sql, (limit,))
        if len(rows) < limit and (len(rows), sum(row[7] for row in rows)) != (self._depth, self._bytes):
            # The whole spool is in view and the counts differ: entries may have come back from the dead-letter
            # CLI, or a commit happened meanwhile. Count again where no write can happen in between.
            async with self._lock:
                self._depth, self._bytes, self._dead = await asyncio.to_thread(self._count)
        return [Entry(*row) for row in rows]

    def _read(self, sql: str, args: Sequence[Any]) -> list[Any]:
        if self._reader is None:
            raise SpoolUnavailableError("the spool is not open")
        with self._reading:
            return self._reader.execute(sql, args).fetchall()

    async def load(self, entries: Sequence[Entry]) -> list[Entry]:
        """`entries` with their payloads (those still in the spool)."""
        ids = [entry.id for entry in entries]
        sql = f"SELECT id, payload FROM entries WHERE id IN ({','.join('?' * len(ids))})"  # noqa: S608
        rows = dict(await asyncio.to_thread(self._read, sql, ids))
        return [replace(entry, payload=rows[entry.id]) for entry in entries if entry.id in rows]

    async def wait_for_append(self, at_most: float) -> None:
        """Return when an entry was stored since the last call, or after `at_most` seconds."""
        try:
            await asyncio.wait_for(self._appended.wait(), at_most)
        except TimeoutError:
            return
        finally:
            self._appended.clear()

    async def delivered(self, entries: Sequence[Entry]) -> None:
        """Remove entries the API accepted: one statement, its own transaction (one fsync however many)."""
        if not entries:
            return
        ids = [entry.id for entry in entries]
        sql = f"DELETE FROM entries WHERE id IN ({','.join('?' * len(ids))})"  # noqa: S608 - placeholders only

        def delete() -> tuple[int, int, int] | None:
            removed = int(self.db.execute(sql, ids).rowcount)
            # Some were gone already (moved by the dead-letter CLI meanwhile): count again rather than guess.
            return None if removed == len(ids) else self._count()

        async with self._lock:
            recount = await asyncio.to_thread(delete)
            if recount is None:
                self._forget(entries)
            else:
                self._depth, self._bytes, self._dead = recount

    def _forget(self, entries: Sequence[Entry]) -> None:
        self._depth -= len(entries)
        self._bytes -= sum(entry.size for entry in entries)

    async def attempted(self, entries: Sequence[Entry]) -> None:
        """Count a failed delivery attempt of `entries` (kept for operators inspecting a stuck spool)."""
        statements = [("UPDATE entries SET attempts = attempts + 1 WHERE id = ?", (entry.id,)) for entry in entries]
        async with self._lock:
            await asyncio.to_thread(_in_transaction, self.db, statements)

    async def dead_letter(self, entry: Entry, reason: str) -> None:
        """The API refused the entry for good (4xx): keep it aside for a person, never retry it by itself."""
        statements = [
            (
                "INSERT OR REPLACE INTO dead_letters (key, payload, reason, created_at, lane, events) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (entry.key, entry.payload, reason[:1000], time.time(), entry.lane, entry.events),
            ),
            ("DELETE FROM entries WHERE id = ?", (entry.id,)),
        ]

        def move() -> tuple[list[int], int]:
            counts = _in_transaction(self.db, statements)
            return counts, int(self.db.execute("SELECT count(*) FROM dead_letters").fetchone()[0])

        async with self._lock:
            counts, self._dead = await asyncio.to_thread(move)
            if counts[1]:
                self._forget([entry])

    async def dead_letters(self) -> list[tuple[str, str]]:
        """(key, reason) of every entry the API refused for good, oldest first."""
        async with self._lock:
            letters = await asyncio.to_thread(list_dead_letters, self.db)
        return [(letter.key, letter.reason) for letter in letters]

    async def oldest_age(self) -> float:
        rows = await asyncio.to_thread(self._read, "SELECT created_at FROM entries ORDER BY id LIMIT 1", ())
        return 0.0 if not rows or rows[0][0] is None else max(0.0, time.time() - float(rows[0][0]))


def list_dead_letters(db: sqlite3.Connection) -> list[DeadLetter]:
    rows = db.execute("SELECT key, reason, created_at, events FROM dead_letters ORDER BY created_at").fetchall()
    return [DeadLetter(str(key), str(reason), float(at), int(events)) for key, reason, at, events in rows]


def retry_dead_letters(db: sqlite3.Connection, keys: Sequence[str] | None = None) -> int:
    """Move dead letters (all, or those with these keys) back to the end of the spool under their own keys.

    The forwarder delivers them again with the same Idempotency-Key; use it once whatever made the API refuse them
    (a missing integration, a rule since fixed) is resolved. A running webhook picks them up within its idle wait.
    """
    selected = "" if keys is None else f" WHERE key IN ({','.join('?' * len(keys))})"
    args: Sequence[str] = () if keys is None else tuple(keys)
    now = time.time()
    db.execute("BEGIN IMMEDIATE")
    try:
        moved = db.execute(
            "INSERT INTO entries (key, payload, created_at, lane, events) "  # noqa: S608 - placeholders only
            f"SELECT key, payload, ?, lane, events FROM dead_letters{selected} ORDER BY created_at",
            (now, *args),
        ).rowcount
        db.execute(f"DELETE FROM dead_letters{selected}", args)  # noqa: S608 - placeholders only
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return int(moved)
