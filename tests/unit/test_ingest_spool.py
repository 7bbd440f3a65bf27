"""The webhook's durable spool on real SQLite: group commit, order, capacity, disk trouble, dead letters, and a real
webhook process killed with SIGKILL right after acknowledging (nothing acknowledged may be missing afterwards)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import httpx
import pytest
from tests.support.processes import Program, free_port, wait_until

from signalcraft.ingest.pipeline import Batch
from signalcraft.ingest.spool import Spool, SpoolFullError, SpoolUnavailableError


async def put(spool: Spool, payload: bytes, lane: str = "") -> str:
    (key,) = await spool.append([Batch(lane or payload.decode()[:16], payload, 1)])
    return key


async def opened(path: Path, *, capacity: int = 100_000, group_commit: bool = True) -> Spool:
    spool = Spool(path, capacity=capacity, group_commit=group_commit)
    await spool.open()
    return spool


async def test_concurrent_appends_share_commits_and_survive_reopening(tmp_path: Path) -> None:
    spool = await opened(tmp_path / "spool.db")
    payloads = [f"entry-{index}".encode() for index in range(200)]
    keys = await asyncio.gather(*(put(spool, payload) for payload in payloads))
    assert len(set(keys)) == 200
    assert spool.depth == 200
    assert spool.commits <= 10, f"group commit: 200 concurrent appends took {spool.commits} transactions"
    await spool.close()

    again = await opened(tmp_path / "spool.db")
    assert again.depth == 200
    entries = await again.due(limit=500)
    assert [entry.payload for entry in entries] == payloads, "acknowledged order is kept across a restart"
    assert [entry.key for entry in entries] == keys
    await again.close()


async def test_without_group_commit_every_append_is_its_own_transaction(tmp_path: Path) -> None:
    spool = await opened(tmp_path / "spool.db", group_commit=False)
    await asyncio.gather(*(put(spool, b"x") for _ in range(20)))
    assert spool.commits == 20
    assert spool.depth == 20
    await spool.close()


async def test_capacity_refuses_until_entries_are_delivered(tmp_path: Path) -> None:
    spool = await opened(tmp_path / "spool.db", capacity=3)
    for index in range(3):
        await put(spool, f"{index}".encode())
    with pytest.raises(SpoolFullError):
        await put(spool, b"one too many")
    first = (await spool.due(limit=1))[0]
    await spool.delivered([first])
    assert spool.depth == 2
    await put(spool, b"fits again")
    assert [entry.payload for entry in await spool.due()] == [b"1", b"2", b"fits again"]
    await spool.close()


async def test_a_full_disk_refuses_the_batch_and_the_spool_recovers(tmp_path: Path) -> None:
    spool = await opened(tmp_path / "spool.db")
    await put(spool, b"before")
    pages = spool.db.execute("PRAGMA page_count").fetchone()[0]
    # SQLite's own "database or disk is full" path, as on a full volume.
    spool.db.execute(f"PRAGMA max_page_count = {pages}")
    results = await asyncio.gather(*(put(spool, b"x" * 100_000) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(result, SpoolUnavailableError) for result in results), results
    assert "full" in str(results[0])
    assert spool.depth == 1, "nothing refused was counted"
    spool.db.execute("PRAGMA max_page_count = 1073741823")
    await put(spool, b"after")
    assert [entry.payload for entry in await spool.due()] == [b"before", b"after"]
    await spool.close()
    with pytest.raises(SpoolUnavailableError):
        await put(spool, b"closed")


async def test_dead_letters_leave_the_queue_and_keep_the_reason(tmp_path: Path) -> None:
    spool = await opened(tmp_path / "spool.db")
    await put(spool, b"bad")
    await put(spool, b"good")
    bad = (await spool.due())[0]
    await spool.attempted([bad])
    await spool.dead_letter(bad, "422 invalid: summary too long")
    assert spool.depth == 1
    assert [entry.payload for entry in await spool.due()] == [b"good"]
    assert await spool.dead_letters() == [(bad.key, "422 invalid: summary too long")]
    await spool.close()


async def test_bytes_are_capped_as_well_as_entries_and_a_request_is_all_or_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", capacity=100, capacity_bytes=1000)
    await spool.open()
    await spool.append([Batch("a", b"x" * 400, 1), Batch("a", b"y" * 400, 1)])
    assert (spool.depth, spool.bytes) == (2, 800)
    with pytest.raises(SpoolFullError, match="bytes"):
        await spool.append([Batch("b", b"z" * 100, 1), Batch("b", b"z" * 150, 1)])
    assert spool.depth == 2, "none of a refused request's entries is stored"
    await spool.delivered(await spool.due(limit=1))
    assert spool.bytes == 400
    await spool.append([Batch("b", b"z" * 100, 1), Batch("b", b"z" * 150, 1)])
    assert [entry.size for entry in await spool.due(payloads=False)] == [400, 100, 150]
    assert [entry.payload for entry in await spool.due(payloads=False)] == [b"", b"", b""], "a cheap scan"
    await spool.close()


def am_body(name: str) -> dict[str, object]:
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}',
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": name}}],
    }


def test_sigkill_after_acknowledgement_loses_nothing(tmp_path: Path) -> None:
    """A real `signalcraft webhook` (spool only) under concurrent load, killed with SIGKILL, then restarted."""
    (tmp_path / "token").write_text("crash-token")
    port = free_port()
    argv = [
        *("webhook", "--api-url", "http://127.0.0.1:9", "--no-forward", "--integration", "crash"),
        *("--token-file", str(tmp_path / "token"), "--spool", str(tmp_path / "spool.db")),
        *("--host", "127.0.0.1", "--port", str(port)),
    ]
    url = f"http://127.0.0.1:{port}"

    def start() -> Program:
        program = Program(argv, tmp_path / "webhook.log").start()
        wait_until(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200, timeout=30, what="the webhook")
        return program

    program = start()
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def sender(offset: int) -> None:
        with httpx.Client(headers={"Authorization": "Bearer crash-token"}, timeout=10) as client:
            for index in range(offset, 100_000, 4):
                if stop.is_set():
                    return
                try:
                    response = client.post(f"{url}/alertmanager", json=am_body(f"Crash{index}"))
                except httpx.HTTPError:
                    return
                if response.status_code == 202:
                    with lock:
                        acknowledged.add(f"Crash{index}")

    threads = [threading.Thread(target=sender, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acknowledged) >= 300, timeout=60, interval=0.02, what="300 acknowledged alerts")
    program.kill()
    stop.set()
    for thread in threads:
        thread.join(30)
    with lock:
        promised = set(acknowledged)

    async def stored() -> set[str]:
        spool = await opened(tmp_path / "spool.db")
        try:
            entries = await spool.due(limit=1_000_000)
        finally:
            await spool.close()
        return {json.loads(entry.payload)[0]["labels"]["alertname"] for entry in entries}

    names = asyncio.run(stored())
    assert promised <= names, f"acknowledged but lost: {sorted(promised - names)[:10]}"
    restarted = start()
    try:
        metrics = httpx.get(f"{url}/metrics", timeout=5).text
        assert f"signalcraft_webhook_spool_depth {float(len(names))}" in metrics, "the restart sees every entry"
    finally:
        restarted.stop()
