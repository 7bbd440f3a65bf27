"""API benchmark: PUT (create, replace) and GET throughput and p99 with N concurrent clients over loopback, next to
the same run's raw SQLite transaction rate for the same writes — the ratio is what HTTP, validation, auth and the
ownership/ETag checks cost on top of the storage floor.

Run: `make bench` or `.venv/bin/python -m bench.api --requests 3000 --clients 16`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "operator")]

from tests.support.api_server import running_api_server  # noqa: E402

SPEC = {"rules": [{"delay_minutes": 0, "targets": [{"type": "user", "name": "alice"}]}], "num_loops": 0}


async def _run(
    clients: int,
    count: int,
    call: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    http: list[httpx.AsyncClient],
) -> tuple[float, list[float]]:
    """Issue `count` calls from `clients` concurrent clients; return wall time and every latency."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            index = queue.get_nowait()
            started = time.perf_counter()
            response = await call(client, index)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 400:
                raise RuntimeError(f"{response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(http[i]) for i in range(clients)))
    return time.perf_counter() - started, latencies


def raw_sqlite_rate(count: int, directory: Path) -> float:
    """The storage floor: the same rows written with one transaction each, WAL + synchronous=NORMAL, no HTTP."""
    db = sqlite3.connect(directory / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE resources (collection TEXT, name TEXT, id TEXT, labels TEXT, manager TEXT, spec TEXT, "
        "status TEXT, version INTEGER, created_at TEXT, updated_at TEXT, PRIMARY KEY (collection, name))"
    )
    started = time.perf_counter()
    for index in range(count):
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT * FROM resources WHERE collection = ? AND name = ?", ("escalation-policies", f"p{index}"))
        db.execute(
            "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "escalation-policies",
                f"p{index}",
                uuid.uuid4().hex,
                "{}",
                None,
                json.dumps(SPEC, sort_keys=True),
                "{}",
                1,
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:00Z",
            ),
        )
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


def _p(latencies: list[float], fraction: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


async def main(count: int, clients: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="signalcraft-bench-api-"))
    raw = raw_sqlite_rate(count, workdir)
    with running_api_server(workdir / "api", extra_args=["--rate-limit", "1000000"]) as api:
        headers = {"Authorization": f"Bearer {api.admin_key}"}
        http = [httpx.AsyncClient(base_url=api.url, headers=headers, timeout=60) for _ in range(clients)]
        try:
            phases = {
                "PUT create": lambda c, i: c.put(f"/v1/escalation-policies/p{i}", json={"spec": SPEC}),
                "PUT replace": lambda c, i: c.put(
                    f"/v1/escalation-policies/p{i}", json={"spec": {**SPEC, "num_loops": 1}}
                ),
                "GET": lambda c, i: c.get(f"/v1/escalation-policies/p{i}"),
            }
            results = {name: await _run(clients, count, call, http) for name, call in phases.items()}
        finally:
            for client in http:
                await client.aclose()
    print(f"\nAPI benchmark: {count} requests per phase, {clients} concurrent clients, loopback, SQLite WAL")
    print(f"  {'phase':<14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs raw SQLite tx/s':>20}")
    for name, (elapsed, latencies) in results.items():
        rate = count / elapsed
        ratio = f"{rate / raw:.2f}x" if name.startswith("PUT") else ""
        print(f"  {name:<14} {rate:>9.0f} {_p(latencies, 0.5):>8.1f} {_p(latencies, 0.99):>8.1f} {ratio:>20}")
    print(f"  {'raw SQLite tx':<14} {raw:>9.0f} {'':>8} {'':>8} {'1.00x':>20}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.clients))
