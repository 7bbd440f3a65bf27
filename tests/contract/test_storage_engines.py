"""The storage layer itself, on both engines (a real SQLite file, a real PostgreSQL database): a COMMIT that fails is
rolled back and the next transaction works, and waiting for the write lock is bounded (StorageUnavailable, which the
API answers with 503 + Retry-After)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from signalcraft.server.storage import Storage, StorageUnavailable, open_storage


def storage_for(engine: str, tmp_path: Path, new_database: Callable[[], str | None], busy: float = 0.3) -> Storage:
    return open_storage(tmp_path / "api.db", database_url=new_database(), busy_timeout=busy)


async def test_a_failed_commit_rolls_back_and_the_next_transaction_works(
    engine: str, tmp_path: Path, new_database: Callable[[], str | None]
) -> None:
    db = storage_for(engine, tmp_path, new_database)
    await db.open()
    try:

        async def commit_fails() -> None:
            async with db.transaction() as tx:
                # A foreign key checked at COMMIT: the key's account does not exist, so COMMIT itself fails.
                deferred = "SET CONSTRAINTS ALL DEFERRED" if engine == "postgresql" else "PRAGMA defer_foreign_keys=ON"
                await tx.connection.execute(deferred)
                await tx.accounts.add_key("key_1", "sa_missing", "k", "lookup000001", "hash", ["*"], "now", None)

        with pytest.raises(StorageUnavailable):
            await commit_fails()
        assert await db.accounts.key("key_1") is None, "nothing of the failed transaction is kept"
        async with db.transaction() as tx:
            await tx.accounts.create("sa_1", "after", "", "now")
        account = await db.accounts.by_name("after")
        assert account is not None, "the next transaction commits"
    finally:
        await db.close()


async def test_waiting_for_the_write_lock_is_bounded(
    engine: str, tmp_path: Path, new_database: Callable[[], str | None]
) -> None:
    db = storage_for(engine, tmp_path, new_database, busy=0.3)
    await db.open()
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with db.transaction() as tx:
            await tx.accounts.create("sa_holder", "holder", "", "now")
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    try:
        await holding.wait()
        started = time.monotonic()

        async def wait_for_the_lock() -> None:
            async with db.transaction() as tx:
                await tx.accounts.create("sa_waiter", "waiter", "", "now")

        with pytest.raises(StorageUnavailable):
            await wait_for_the_lock()
        waited = time.monotonic() - started
        assert waited < 3, f"waited {waited:.1f} s for a 0.3 s bound"
        release.set()
        await holder
        async with db.transaction() as tx:
            await tx.accounts.create("sa_after", "after", "", "now")
        assert await db.accounts.by_name("holder") is not None
        assert await db.accounts.by_name("waiter") is None
    finally:
        release.set()
        await asyncio.gather(holder, return_exceptions=True)
        await db.close()
