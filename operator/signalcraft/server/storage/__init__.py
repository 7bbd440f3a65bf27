"""All SQL of the API server, behind one store per concern, on SQLite (the embedded default) or PostgreSQL.

    storage = open_storage(path=Path("signalcraft.db"))        # or database_url="postgresql://..."
    await storage.open()
    row = await storage.resources.get("teams", "sre")          # reads: any connection, the last commit
    async with storage.transaction() as tx:                     # writes: one serialized transaction
        await tx.resources.put(row)

Route modules and services call these stores and never write SQL themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from pathlib import Path

from signalcraft.server.storage.accounts import AccountStore
from signalcraft.server.storage.alerts import AlertStore, GroupFilter
from signalcraft.server.storage.engine import Connection, Engine, InvalidText, Row, StorageUnavailable, dumps
from signalcraft.server.storage.idempotency import IdempotencyStore
from signalcraft.server.storage.people import PeopleStore
from signalcraft.server.storage.resources import LabelTerm, ResourceFilter, ResourceStore
from signalcraft.server.storage.tickets import TicketJobStore


class Session:
    """Every concern's store on one connection: the reader, or one transaction's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @cached_property
    def resources(self) -> ResourceStore:
        return ResourceStore(self.connection)

    @cached_property
    def people(self) -> PeopleStore:
        return PeopleStore(self.connection)

    @cached_property
    def accounts(self) -> AccountStore:
        return AccountStore(self.connection)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.connection)

    @cached_property
    def alerts(self) -> AlertStore:
        return AlertStore(self.connection)

    @cached_property
    def tickets(self) -> TicketJobStore:
        return TicketJobStore(self.connection)


class Storage:
    """The database of one API server process: its stores read the last commit, `transaction()` writes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reads: Session | None = None

    @property
    def reads(self) -> Session:
        if self._reads is None:
            self._reads = Session(self.engine.reader)
        return self._reads

    @property
    def resources(self) -> ResourceStore:
        return self.reads.resources

    @property
    def accounts(self) -> AccountStore:
        return self.reads.accounts

    @property
    def people(self) -> PeopleStore:
        return self.reads.people

    @property
    def idempotency(self) -> IdempotencyStore:
        return self.reads.idempotency

    @property
    def alerts(self) -> AlertStore:
        return self.reads.alerts

    @property
    def tickets(self) -> TicketJobStore:
        return self.reads.tickets

    @property
    def engine_name(self) -> str:
        return self.engine.dialect.name

    async def open(self) -> None:
        await self.engine.open()

    async def close(self) -> None:
        await self.engine.close()
        self._reads = None

    async def migrate(self) -> int:
        return await self.engine.migrate()

    @asynccontextmanager
    async def transaction(self, *, exclusive: bool = True) -> AsyncIterator[Session]:
        """A write transaction: committed when the block ends, rolled back when it raises.

        Exclusive transactions (the default) run one at a time across every process of the database; waiting for
        that is bounded by the engine's busy timeout, after which StorageUnavailable (503) is raised."""
        async with self.engine.transaction(exclusive=exclusive) as connection:
            yield Session(connection)


Database = Storage
"""The name the UI's sign-in store still uses."""


def open_storage(path: Path | None = None, *, database_url: str | None = None, busy_timeout: float = 5.0) -> Storage:
    """The storage for `--database-url` (PostgreSQL) when given, else for the SQLite file `path`."""
    if database_url:
        from signalcraft.server.storage.postgres import PostgresEngine

        return Storage(PostgresEngine(database_url, busy_timeout=busy_timeout))
    from signalcraft.server.storage.sqlite import SqliteEngine

    return Storage(SqliteEngine(path or Path("signalcraft.db"), busy_timeout=busy_timeout))


__all__ = [
    "Connection",
    "Database",
    "GroupFilter",
    "InvalidText",
    "LabelTerm",
    "ResourceFilter",
    "Row",
    "Session",
    "Storage",
    "StorageUnavailable",
    "dumps",
    "open_storage",
]
