"""API benchmark: PUT (create, replace) and GET throughput and p50/p99 latency with N concurrent clients over loopback,
next to the same run's raw SQLite rates for the same work — one transaction per write (the row read, then written, as
the server does) and one primary-key read per GET. The ratio is what HTTP, JSON, validation, authentication and the
ownership/ETag/reference checks cost on top of the storage floor, measured on the same machine in the same minute.

The load generator is an asyncio httpx client in this process (one pooled connection per client); the server is
`signalcraft api` as a separate process, so both share the machine's cores as in the tests.
Run: `make bench` or `.venv/bin/python -m bench.api --requests 2000 --clients 1 16`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
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
Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def _run(count: int, call: Call, http: list[httpx.AsyncClient]) -> tuple[float, list[float]]:
    """Issue `count` calls spread over the clients (each runs one request at a time); wall time and latencies."""
    latencies: list[float] = []
    indexes = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        for index in indexes:
            started = time.perf_counter()
            response = await call(client, index)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 400:
                raise RuntimeError(f"{response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in http))
    return time.perf_counter() - started, latencies


def raw_sqlite_rates(count: int, directory: Path) -> tuple[float, float]:
    """The storage floor, (writes/s, reads/s): the same rows as the PUT phase, WAL + synchronous=NORMAL as the server,
    one BEGIN IMMEDIATE ... COMMIT per write (read the row, then write it); then one primary-key read per GET."""
    db = sqlite3.connect(directory / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE resources (collection TEXT, name TEXT, id TEXT, labels TEXT, manager TEXT, spec TEXT, "
        "status TEXT, version INTEGER, created_at TEXT, updated_at TEXT, PRIMARY KEY (collection, name))"
    )
    spec = json.dumps(SPEC, sort_keys=True)
    started = time.perf_counter()
    for index in range(count):
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT * FROM resources WHERE collection = ? AND name = ?", ("escalation-policies", f"p{index}"))
        db.execute(
            "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("escalation-policies", f"p{index}", uuid.uuid4().hex, "{}", None, spec, "{}", 1, "now", "now"),
        )
        db.execute("COMMIT")
    writes = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for index in range(count):
        db.execute(
            "SELECT * FROM resources WHERE collection = ? AND name = ?", ("escalation-policies", f"p{index}")
        ).fetchone()
    reads = count / (time.perf_counter() - started)
    db.close()
    return writes, reads


def _percentile(latencies: list[float], fraction: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


async def measure(count: int, clients: int, workdir: Path) -> dict[str, tuple[float, list[float]]]:
    """The three phases against a fresh server and database."""
    with running_api_server(workdir, extra_args=["--rate-limit", "1000000"]) as api:
        headers = {"Authorization": f"Bearer {api.admin_key}"}
        limits = httpx.Limits(max_connections=1)
        http = [httpx.AsyncClient(base_url=api.url, headers=headers, timeout=60, limits=limits) for _ in range(clients)]
        try:
            await http[0].get("/v1/escalation-policies")  # warm up: imports, first connection
            phases: dict[str, Call] = {
                "PUT create": lambda c, i: c.put(f"/v1/escalation-policies/p{i}", json={"spec": SPEC}),
                "PUT replace": lambda c, i: c.put(
                    f"/v1/escalation-policies/p{i}", json={"spec": {**SPEC, "num_loops": 1}}
                ),
                "GET": lambda c, i: c.get(f"/v1/escalation-policies/p{i}"),
            }
            return {name: await _run(count, call, http) for name, call in phases.items()}
        finally:
            for client in http:
                await client.aclose()


async def main(count: int, client_counts: list[int]) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="signalcraft-bench-api-"))
    raw_writes, raw_reads = raw_sqlite_rates(count, workdir)
    results = {clients: await measure(count, clients, workdir / f"api-{clients}") for clients in client_counts}
    print(
        f"\nAPI benchmark: {count} requests per phase, loopback, SQLite WAL (synchronous=NORMAL); "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print(f"  {'clients':>7} {'phase':<12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'raw SQLite /s':>14} {'ratio':>7}")
    for clients, phases in results.items():
        for name, (elapsed, latencies) in phases.items():
            rate = count / elapsed
            raw = raw_reads if name == "GET" else raw_writes
            print(
                f"  {clients:>7} {name:<12} {rate:>8.0f} {_percentile(latencies, 0.5):>8.1f} "
                f"{_percentile(latencies, 0.99):>8.1f} {raw:>14.0f} {rate / raw:>7.3f}"
            )
    print("  raw SQLite /s: one write transaction per PUT row, one primary-key read per GET, same run, no HTTP")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per phase")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16], help="concurrent clients (one or more N)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.clients))
