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
from signalcraft.server.storage.engine import Connection, Dialect, InvalidText, Result, Row, StorageUnavailable

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

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.url, min_size=2, max_size=self.pool_size, command_timeout=max(30.0, self.busy_timeout * 2)
        )
        self._reader = PostgresReader(self._pool, max(30.0, self.busy_timeout * 2))
        await self.migrate()

    async def close(self) -> None:
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
        if exclusive:
            try:
                async with asyncio.timeout(self.busy_timeout):
                    await self._write_lock.acquire()
            except TimeoutError:
                raise StorageUnavailable("the write lock is taken; retry shortly") from None
        try:
            async with self._connection() as raw:
                await self._begin(raw, exclusive)
                db = PostgresConnection(raw)
                try:
                    yield db
                except (
                    asyncpg.exceptions.LockNotAvailableError,
                    asyncpg.exceptions.QueryCanceledError,
                    asyncpg.exceptions.SerializationError,
                    asyncpg.exceptions.DeadlockDetectedError,
                    asyncpg.exceptions.PostgresConnectionError,
                    asyncpg.exceptions.InterfaceError,
                ) as exc:
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
        finally:
            if exclusive:
                self._write_lock.release()

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

    async def _begin(self, raw: RawConnection, exclusive: bool) -> None:
        # One round trip (simple query protocol): begin, bound the lock wait, take the write lock.
        wait = f"SET LOCAL lock_timeout = '{int(self.busy_timeout * 1000)}ms'"
        lock = f"; SELECT pg_advisory_xact_lock({WRITE_LOCK})" if exclusive else ""
        try:
            await raw.execute(f"BEGIN; {wait}{lock}")
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
