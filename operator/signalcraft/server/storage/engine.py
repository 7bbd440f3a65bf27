"""What every storage engine provides: connections that run SQL, a dialect for the few spots where SQL differs, one
serialized write transaction at a time, and the one error the API turns into 503.

SQL in the concern stores is written once, with `?` placeholders, in the subset SQLite and PostgreSQL share
(`INSERT ... ON CONFLICT`, `RETURNING`, `coalesce`, `CASE`); JSON columns are text in both engines (so `spec` comes back
byte for byte as stored) and the dialect renders the JSON expressions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

Row = dict[str, Any]


class StorageUnavailable(Exception):
    """The database cannot take this request now (lock held past the bounded wait, connection lost, failed COMMIT).

    Nothing of the request was kept; the API answers 503 with Retry-After and the same request may be sent again.
    """

    def __init__(self, message: str = "the database is busy", retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


async def acquire_write_lock(lock: asyncio.Lock, wait: float) -> None:
    """Take this process's write lock, waiting at most `wait` seconds (then 503: nothing was written)."""
    try:
        async with asyncio.timeout(wait):
            await lock.acquire()
    except TimeoutError:
        raise StorageUnavailable("the write lock is taken; retry shortly") from None


class InvalidText(ValueError):
    """Text the database cannot store (PostgreSQL's text holds no NUL character): the request is refused (400)."""


class Result(Protocol):
    @property
    def rowcount(self) -> int: ...


class Connection(Protocol):
    """One connection (or a pool for reads); `?` placeholders in every engine."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> Result: ...

    async def fetch_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...


class Engine(Protocol):
    dialect: Dialect

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def migrate(self) -> int: ...

    @property
    def reader(self) -> Connection: ...

    def transaction(self, *, exclusive: bool = True) -> AbstractAsyncContextManager[Connection]:
        """A write transaction; `exclusive` ones are serialized across every process sharing the database."""
        ...


@dataclass(frozen=True)
class Dialect:
    name: str
    """`sqlite` or `postgresql`."""

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    def json_text(self, column: str, *path: str) -> str:
        """The value at `path` inside a JSON text column, as text (a code constant path, never user input)."""
        if self.postgres:
            if len(path) == 1:
                return f"({column}::jsonb ->> '{path[0]}')"
            return f"({column}::jsonb #>> '{{{','.join(path)}}}')"
        return f"json_extract({column}, '$.{'.'.join(path)}')"

    def json_sort_value(self, column: str, key: str) -> str:
        """A member of a JSON column to ORDER BY (numbers order as numbers)."""
        if self.postgres:
            return f"({column}::jsonb -> '{key}')"
        return f"json_extract({column}, '$.{key}')"

    def json_member(self, column: str) -> str:
        """The member named by the next `?` (a key) as text; pass the key through `member_arg`."""
        if self.postgres:
            return f"({column}::jsonb ->> ?)"
        return f"json_extract({column}, ?)"

    def member_arg(self, key: str) -> str:
        return key if self.postgres else '$."' + key.replace('"', '""') + '"'

    def json_has_member(self, column: str) -> str:
        """True when the member named by the next `?` (through `member_arg`) exists."""
        if self.postgres:
            return f"jsonb_exists({column}::jsonb, ?)"
        return f"(json_type({column}, ?) IS NOT NULL)"

    def json_set(self, column: str) -> str:
        """`column` with the member named by the next `?` (through `member_arg`) set to the JSON of the `?` after."""
        if self.postgres:
            return f"jsonb_set(coalesce({column}, '{{}}')::jsonb, ARRAY[?::text], ?::jsonb)::text"
        return f"json_set(coalesce({column}, '{{}}'), ?, json(?))"

    def distinct(self, left: str, right: str) -> str:
        """`left` differs from `right`, NULL counting as a value."""
        return f"({left} IS DISTINCT FROM {right})" if self.postgres else f"({left} IS NOT {right})"

    def greatest(self, left: str, right: str) -> str:
        return f"greatest({left}, {right})" if self.postgres else f"max({left}, {right})"


def dumps(value: Any) -> str:
    """The stored JSON text of a value: compact, keys sorted, so equal values are equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


async def fetch_value(connection: Connection, sql: str, args: Sequence[Any] = ()) -> Any:
    row = await connection.fetch_one(sql, args)
    return next(iter(row.values())) if row is not None else None


__all__ = [
    "Connection",
    "Dialect",
    "Engine",
    "InvalidText",
    "Result",
    "Row",
    "StorageUnavailable",
    "dumps",
    "fetch_value",
]
