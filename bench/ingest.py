"""Ingestion benchmark, all on loopback, measured side by side in one run:

- the in-cluster webhook with durable acknowledgement (spool, group commit), its forwarder delivering to the real API;
- the same webhook with one fsync per request (group commit off);
- a bare endpoint on the same server stack (Starlette + uvicorn) that only answers 202 — the ceiling;
- latency (p50/p99) of the webhook at half of its maximum rate;
- the time from a real Alertmanager receiving an alert to the alert group existing in the API.

Load comes from a separate process (`--load`), bounded in count and time.
Run: `make bench` or `.venv/bin/python -m bench.ingest --requests 2000`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "operator")]

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402
from tests.support.api_server import running_api_server  # noqa: E402
from tests.support.processes import Program, free_port, wait_until  # noqa: E402
from tests.support.webhook import running_alertmanager, start_webhook  # noqa: E402

PAYLOAD = (
    REPO / "tests" / "fixtures" / "payloads" / "alertmanager" / "oncall-example-two-alerts-firing-with-numfiring.json"
)


def serve_bare(port: int) -> None:
    async def accept(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"accepted": 0}, status_code=202)

    app = Starlette(routes=[Route("/alertmanager", accept, methods=["POST"]), Route("/healthz", accept)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def load(url: str, token: str, count: int, concurrency: int, rate: float | None, limit: float) -> dict[str, Any]:
    """POST `count` realistic Alertmanager bodies (distinct groups); closed loop, or open loop at `rate` per second."""
    template = json.loads(PAYLOAD.read_text())
    bodies = [json.dumps({**template, "groupKey": f'{{}}:{{alertname="Bench{i}"}}'}).encode() for i in range(count)]
    latencies: list[float] = []
    failures = 0
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            nonlocal failures
            while not queue.empty() and time.perf_counter() - started < limit:
                index = queue.get_nowait()
                if rate is not None:
                    await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
                sent = time.perf_counter()
                response = await client.post(url, content=bodies[index], headers=headers)
                latencies.append(time.perf_counter() - sent)
                failures += response.status_code != 202

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rate": len(latencies) / elapsed,
        "p50": ordered[len(ordered) // 2] * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "sent": len(latencies),
        "failures": failures,
    }


def run_load(url: str, token: str, count: int, concurrency: int, rate: float | None = None) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.ingest", "--load", url, "--token", token, "--requests", str(count)]
    argv += ["--concurrency", str(concurrency)] + (["--rate", str(rate)] if rate else [])
    result = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=REPO, timeout=600)
    loaded: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def main(count: int, concurrency: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="signalcraft-bench-ingest-"))
    rows: list[tuple[str, str]] = []
    with running_api_server(workdir / "api", extra_args=["--rate-limit", "1000000"]) as api:
        bare_port = free_port()
        bare = Program(
            ["-m", "bench.ingest", "--serve-bare", str(bare_port)], workdir / "bare.log", executable=sys.executable
        ).start()
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{bare_port}/healthz").status_code == 202, timeout=30)
        ceiling = run_load(f"http://127.0.0.1:{bare_port}/alertmanager", "x", count, concurrency)
        bare.stop()

        durable = start_webhook(api, workdir / "group-commit", "bench-gc")
        grouped = run_load(f"{durable.url}/alertmanager", durable.token, count, concurrency)
        half = run_load(f"{durable.url}/alertmanager", durable.token, count // 2, concurrency, rate=grouped["rate"] / 2)
        durable.program.stop()

        per_request = start_webhook(api, workdir / "fsync-each", "bench-each")
        per_request.program.stop()
        per_request.argv.append("--no-group-commit")
        per_request.restart()
        single = run_load(f"{per_request.url}/alertmanager", per_request.token, count, concurrency)
        per_request.program.stop()

        timing = start_webhook(api, workdir / "am-webhook", "bench-am")
        with running_alertmanager(workdir / "am", timing) as alertmanager, api.client() as client:
            fired = time.perf_counter()
            alertmanager.fire(
                {"labels": {"alertname": "Latency", "severity": "critical"}, "startsAt": datetime.now(UTC).isoformat()}
            )
            wait_until(
                lambda: client.get("/v1/alert-groups", params={"integration": "bench-am"}).json()["items"],
                timeout=60,
                interval=0.02,
            )
            end_to_end = time.perf_counter() - fired
        timing.program.stop()

    rows += [
        (
            "bare 202 endpoint (same stack)",
            f"{ceiling['rate']:.0f} req/s, p50 {ceiling['p50']:.1f} ms, p99 {ceiling['p99']:.1f} ms",
        ),
        (
            "webhook, durable, group commit",
            f"{grouped['rate']:.0f} req/s, p50 {grouped['p50']:.1f} ms, p99 {grouped['p99']:.1f} ms",
        ),
        ("  ratio to bare (goal >= 0.5)", f"{grouped['rate'] / ceiling['rate']:.2f}x"),
        (
            "webhook at half its max rate",
            f"{half['rate']:.0f} req/s, p50 {half['p50']:.1f} ms, p99 {half['p99']:.1f} ms (goal p99 <= 20 ms)",
        ),
        (
            "webhook, one fsync per request",
            f"{single['rate']:.0f} req/s, p50 {single['p50']:.1f} ms, p99 {single['p99']:.1f} ms",
        ),
        ("  group commit / fsync per request", f"{grouped['rate'] / single['rate']:.2f}x"),
        ("Alertmanager fired -> group in API", f"{end_to_end:.2f} s (Alertmanager group_wait 1 s included)"),
    ]
    failures = grouped["failures"] + half["failures"] + single["failures"]
    print(f"\ningestion benchmark: {count} Alertmanager bodies per run, {concurrency} connections, loopback")
    print(f"  (requests not answered 202: {failures})")
    for label, value in rows:
        print(f"  {label:<38} {value}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--load", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--token", default="", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_bare is not None:
        serve_bare(arguments.serve_bare)
    elif arguments.load is not None:
        outcome = asyncio.run(
            load(arguments.load, arguments.token, arguments.requests, arguments.concurrency, arguments.rate, limit=120)
        )
        print(json.dumps(outcome))
    else:
        main(arguments.requests, arguments.concurrency)
