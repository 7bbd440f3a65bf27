"""PostgreSQL for several API server processes on one database: asyncpg with its own pool.

Why asyncpg: the binary protocol and its per-connection cache of prepared statements make a round trip cheaper than
psycopg's, and its pool is built in; every statement here is parameterized, so the statement cache always hits.

Writes keep the single-writer semantics the SQLite engine has, across processes: an exclusive transaction takes one
transaction-scoped advisory lock (`pg_advisory_xact_lock`), waiting at most `busy_timeout` (`lock_timeout`), so two
creates of one name, an Idempotency-Key taken on one process and seen on another, and "is this still referenced?"
checks behave as on one server. Reads use any pooled connection and see the last commit. Ticket jobs are claimed
outside that lock with `FOR UPDATE SKIP LOCKED`, so each job goes to exactly one worker.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from signalcraft.server.storage import migrations
from signalcraft.server.storage.engine import (
    Connection,
    Dialect,
    InvalidText,
    Result,
    Row,
    StorageUnavailable,
    acquire_write_lock,
)

if TYPE_CHECKING:
    from asyncpg import Record
    from asyncpg.pool import PoolConnectionProxy

DIALECT = Dialect("postgresql")
RawConnection: TypeAlias = "PoolConnectionProxy[Record]"
WRITE_LOCK = 0x5C_0A_11  # the advisory lock id every exclusive write transaction takes
MIGRATION_LOCK = 0x5C_0A_12  # taken while migrating, so replicas starting together migrate once
_PLACEHOLDER = re.compile(r"\?")
UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    ConnectionError,
    OSError,
    TimeoutError,
)
TEXT_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
)
FAILURES: tuple[type[BaseException], ...] = (asyncpg.PostgresError, *UNAVAILABLE)
RETRYABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
)
"""Failures inside a transaction that say nothing about the request: answered 503, the same request may be retried."""


@functools.lru_cache(maxsize=4096)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...` (no SQL here has a literal question mark)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


@functools.lru_cache(maxsize=4096)
def _affected(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class _Status:
    __slots__ = ("rowcount",)

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


class PostgresConnection:
    """A connection held for one transaction."""

    def __init__(self, connection: RawConnection) -> None:
        self.raw = connection

    @property
    def dialect(self) -> Dialect:
        return DIALECT

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        try:
            status = await self.raw.execute(numbered(sql), *args)
        except TEXT_ERRORS as exc:
            raise InvalidText(str(exc)) from exc
        return _Status(_affected(status))

    async def fetch_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        try:
            row = await self.raw.fetchrow(numbered(sql), *args)
        except TEXT_ERRORS as exc:
            raise InvalidText(str(exc)) from exc
        return dict(row.items()) if row is not None else None

    async def fetch_all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        try:
            rows = await self.raw.fetch(numbered(sql), *args)
        except TEXT_ERRORS as exc:
            raise InvalidText(str(exc)) from exc
        return [dict(row.items()) for row in rows]


class PostgresReader:
    """Reads (and single-statement writes, each its own transaction) on any pooled connection."""

    def __init__(self, pool: asyncpg.Pool, timeout: float) -> None:
        self.pool = pool
        self.timeout = timeout

    @property
    def dialect(self) -> Dialect:
        return DIALECT

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        try:
            status = await self.pool.execute(numbered(sql), *args, timeout=self.timeout)
        except TEXT_ERRORS as exc:
            raise InvalidText(str(exc)) from exc
        except UNAVAILABLE as exc:
            raise StorageUnavailable("the database is unavailable") from exc
        return _Status(_affected(status))

    async def fetch_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        try:
            row = await self.pool.fetchrow(numbered(sql), *args, timeout=self.timeout)
        except TEXT_ERRORS as exc:
            raise InvalidText(str(exc)) from exc
        except UNAVAILABLE as exc:
            raise StorageUnavailable("the database is unavailable") from exc
        return dict(row.items()) if row is not None else None

    async def fetch_all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        try:
            rows = await self.pool.fetch(numbered(sql), *args, timeout=self.timeout)
        except TEXT_ERRORS as exc:
            raise InvalidText(str(exc)) from exc
        except UNAVAILABLE as exc:
            raise StorageUnavailable("the database is unavailable") from exc
        return [dict(row.items()) for row in rows]


class PostgresEngine:
    dialect = DIALECT

    def __init__(self, url: str, *, busy_timeout: float = 5.0, pool_size: int = 10) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._reader: PostgresReader | None = None
        self._write_lock = asyncio.Lock()
        """This process's exclusive writers queue here, so they hold one pooled connection, not one each."""
        self._group_connection: RawConnection | None = None
        """The connection of the open group transaction (write lock taken; finished requests wait for its COMMIT)."""
        self._group: list[asyncio.Future[None]] = []
        self._committer: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.url, min_size=2, max_size=self.pool_size, command_timeout=max(30.0, self.busy_timeout * 2)
        )
        self._reader = PostgresReader(self._pool, max(30.0, self.busy_timeout * 2))
        await self.migrate()

    async def close(self) -> None:
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
        self._pool = None
        self._reader = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database is not open")
        return self._pool

    @property
    def reader(self) -> Connection:
        if self._reader is None:
            raise RuntimeError("the database is not open")
        return self._reader

    async def migrate(self) -> int:
        async with self.pool.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                current = await connection.fetchval("SELECT max(version) FROM schema_version") or 0
                for number, script in enumerate(migrations.POSTGRES[current:], start=current + 1):
                    async with connection.transaction():
                        for statement in migrations.statements(script):
                            await connection.execute(statement)
                        await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        return len(migrations.POSTGRES)

    @asynccontextmanager
    async def transaction(self, *, exclusive: bool = True) -> AsyncIterator[Connection]:
        if not exclusive:
            async with self._own_transaction() as db:
                yield db
            return
        await acquire_write_lock(self._write_lock, self.busy_timeout)
        committed: asyncio.Future[None] | None = None
        try:
            raw = await self._join_group()
            db = PostgresConnection(raw)
            try:
                yield db
            except BaseException as exc:
                await self._undo_request(raw)
                if isinstance(exc, RETRYABLE):
                    raise StorageUnavailable("the database could not finish the transaction") from exc
                raise
            try:
                await raw.execute("RELEASE SAVEPOINT request")
            except FAILURES as exc:
                await self._end_group(raw, StorageUnavailable("the database could not finish the transaction"))
                raise StorageUnavailable("the database could not finish the transaction") from exc
            committed = asyncio.get_running_loop().create_future()
            self._group.append(committed)
            if self._committer is None:
                self._committer = asyncio.create_task(self._commit_group(), name="postgres-group-commit")
        finally:
            self._write_lock.release()
        assert committed is not None
        await asyncio.shield(committed)

    async def _join_group(self) -> RawConnection:
        """The group's connection inside its transaction (begun, write lock taken), at a fresh savepoint."""
        if self._group_connection is not None:
            try:
                await self._group_connection.execute("SAVEPOINT request")
            except FAILURES as exc:
                await self._end_group(self._group_connection, StorageUnavailable("the database connection failed"))
                raise StorageUnavailable("the database could not start the transaction") from exc
            return self._group_connection
        try:
            raw = await self.pool.acquire(timeout=self.busy_timeout)
        except UNAVAILABLE as exc:
            raise StorageUnavailable("no database connection is free") from exc
        try:
            await self._begin(raw, True, then="; SAVEPOINT request")
        except BaseException:
            await self.pool.release(raw)
            raise
        self._group_connection = raw
        return raw

    async def _undo_request(self, raw: RawConnection) -> None:
        """Back to this request's savepoint; with no earlier request of the group waiting, end the transaction (so the
        write lock is not held until the next write); if that fails, the whole group fails."""
        if not self._group:
            await self._end_group(raw, None)
            return
        try:
            await raw.execute("ROLLBACK TO SAVEPOINT request; RELEASE SAVEPOINT request")
        except FAILURES:
            await self._end_group(raw, StorageUnavailable("the database rolled the transaction back"))

    async def _end_group(self, raw: RawConnection, error: StorageUnavailable | None) -> None:
        """Roll the group's transaction back, give its connection back, fail its waiting requests with `error`."""
        await self._rollback(raw)
        self._group_connection = None
        await self.pool.release(raw)
        group, self._group = self._group, []
        for waiter in group:
            if not waiter.done():
                waiter.set_exception(error or StorageUnavailable("the database rolled the transaction back"))

    async def _commit_group(self) -> None:
        """COMMIT once the transactions already queued for the writer have joined the group."""
        async with self._write_lock:
            self._committer = None
            raw, group = self._group_connection, self._group
            if raw is None or not group:
                return
            try:
                await raw.execute("COMMIT")
            except FAILURES:
                await self._end_group(raw, StorageUnavailable("the database could not commit; nothing was written"))
                return
            self._group_connection, self._group = None, []
            await self.pool.release(raw)
            for waiter in group:
                if not waiter.done():
                    waiter.set_result(None)

    @asynccontextmanager
    async def _own_transaction(self) -> AsyncIterator[Connection]:
        """A transaction on a connection of its own, without the write lock (claims with SKIP LOCKED)."""
        async with self._connection() as raw:
            await self._begin(raw, False)
            db = PostgresConnection(raw)
            try:
                yield db
            except RETRYABLE as exc:
                await self._rollback(raw)
                raise StorageUnavailable("the database could not finish the transaction") from exc
            except BaseException:
                await self._rollback(raw)
                raise
            try:
                await raw.execute("COMMIT")
            except FAILURES as exc:
                await self._rollback(raw)
                raise StorageUnavailable("the database could not commit; nothing was written") from exc

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[RawConnection]:
        try:
            raw = await self.pool.acquire(timeout=self.busy_timeout)
        except UNAVAILABLE as exc:
            raise StorageUnavailable("no database connection is free") from exc
        try:
            yield raw
        finally:
            await self.pool.release(raw)

    async def _begin(self, raw: RawConnection, exclusive: bool, then: str = "") -> None:
        # One round trip (simple query protocol): begin, bound the lock wait, take the write lock.
        wait = f"SET LOCAL lock_timeout = '{int(self.busy_timeout * 1000)}ms'"
        lock = f"; SELECT pg_advisory_xact_lock({WRITE_LOCK})" if exclusive else ""
        try:
            await raw.execute(f"BEGIN; {wait}{lock}{then}")
        except UNAVAILABLE as exc:
            await self._rollback(raw)
            raise StorageUnavailable("another process holds the database's write lock") from exc

    @staticmethod
    async def _rollback(raw: RawConnection) -> None:
        if raw.is_closed():
            return
        try:
            await raw.execute("ROLLBACK")
        except FAILURES:
            raw.terminate()
