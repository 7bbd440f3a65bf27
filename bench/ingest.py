"""Ingestion benchmark, all on loopback, measured side by side in one run:

- the in-cluster webhook with durable acknowledgement (spool with group commit), its forwarder delivering to the real
  API meanwhile; the same program with one fsync per request; both again with the forwarder off (spool only);
- a bare endpoint on the same server stack (Starlette + uvicorn) that only answers 202 — the ceiling;
- the spool alone in-process (group commit against one transaction per append);
- latency (p50/p99) of the webhook at half of its maximum rate;
- the time from a real Alertmanager receiving an alert to the alert group existing in the API.

Load comes from a separate process (`--load`), bounded in count and time; the variants take turns in rounds so that
other load on the machine hits them alike.
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

from signalcraft.ingest.spool import Spool  # noqa: E402

PAYLOAD = (
    REPO / "tests" / "fixtures" / "payloads" / "alertmanager" / "oncall-example-two-alerts-firing-with-numfiring.json"
)


def serve_bare(port: int) -> None:
    async def accept(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"accepted": 0}, status_code=202)

    app = Starlette(routes=[Route("/alertmanager", accept, methods=["POST"]), Route("/healthz", accept)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def load(
    url: str, token: str, count: int, concurrency: int, rate: float | None, limit: float, name: str
) -> dict[str, Any]:
    """POST `count` realistic Alertmanager bodies (distinct groups); closed loop, or open loop at `rate` per second."""
    template = json.loads(PAYLOAD.read_text())
    bodies = [json.dumps({**template, "groupKey": f'{{}}:{{alertname="{name}-{i}"}}'}).encode() for i in range(count)]
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
    return {"elapsed": time.perf_counter() - started, "latencies": latencies, "failures": failures}


def run_load(
    url: str, token: str, count: int, concurrency: int, name: str, rate: float | None = None
) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.ingest", "--load", url, "--token", token, "--requests", str(count)]
    argv += ["--concurrency", str(concurrency), "--name", name] + (["--rate", str(rate)] if rate else [])
    result = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=REPO, timeout=600)
    loaded: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Rate and latency percentiles over several load runs of one variant."""
    ordered = sorted(latency for run in runs for latency in run["latencies"])
    return {
        "rate": len(ordered) / sum(run["elapsed"] for run in runs),
        "p50": ordered[len(ordered) // 2] * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "failures": sum(run["failures"] for run in runs),
    }


async def spool_alone(group_commit: bool, count: int, concurrency: int) -> float:
    """Appends per second of the spool by itself (no HTTP), `concurrency` appends in flight."""
    spool = Spool(Path(tempfile.mkdtemp(prefix="signalcraft-bench-spool-")) / "spool.db", group_commit=group_commit)
    await spool.open()
    payload = PAYLOAD.read_bytes()
    remaining = list(range(count))

    async def writer() -> None:
        while remaining:
            remaining.pop()
            await spool.append(payload)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await spool.close()
    return count / elapsed


def main(count: int, concurrency: int, rounds: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="signalcraft-bench-ingest-"))
    alerts_per_body = len(json.loads(PAYLOAD.read_text())["alerts"])
    with running_api_server(workdir / "api", extra_args=["--rate-limit", "1000000"]) as api:
        bare_port = free_port()
        bare = Program(
            ["-m", "bench.ingest", "--serve-bare", str(bare_port)], workdir / "bare.log", executable=sys.executable
        ).start()
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{bare_port}/healthz").status_code == 202, timeout=30)
        # Every durable variant is the real program; the first two forward to the API meanwhile, as in production.
        webhooks = {
            "group commit": start_webhook(api, workdir / "gc", "bench-gc"),
            "fsync per request": start_webhook(api, workdir / "each", "bench-each", extra_args=["--no-group-commit"]),
            "spool only, group commit": start_webhook(
                api, workdir / "gc-only", "bench-gc-only", extra_args=["--no-forward"]
            ),
            "spool only, fsync per request": start_webhook(
                api, workdir / "each-only", "bench-each-only", extra_args=["--no-forward", "--no-group-commit"]
            ),
        }
        targets = {"bare": (f"http://127.0.0.1:{bare_port}/alertmanager", "x")}
        targets.update({label: (f"{hook.url}/alertmanager", hook.token) for label, hook in webhooks.items()})
        # Rounds alternate between the variants so that load from elsewhere on the machine hits them all alike.
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label in targets}
        forwarding = [webhooks["group commit"], webhooks["fsync per request"]]

        def drained() -> bool:
            # A forwarder still draining the previous turn's entries would slow down whichever variant runs next.
            return all(hook.metric("signalcraft_webhook_spool_depth") == 0 for hook in forwarding)

        for round_ in range(rounds):
            for label, (url, token) in targets.items():
                wait_until(drained, timeout=600, interval=0.2, what="the forwarders to drain")
                runs[label].append(run_load(url, token, count // rounds, concurrency, f"round{round_}"))
        results = {label: summary(found) for label, found in runs.items()}
        transactions = {
            label: hook.metric("signalcraft_webhook_spool_transactions") for label, hook in webhooks.items()
        }
        grouped = webhooks["group commit"]
        wait_until(drained, timeout=600, interval=0.2, what="the forwarders to drain")
        half = summary(
            [
                run_load(
                    f"{grouped.url}/alertmanager",
                    grouped.token,
                    count // 2,
                    concurrency,
                    "half",
                    results["group commit"]["rate"] / 2,
                )
            ]
        )
        bare.stop()
        for hook in webhooks.values():
            hook.program.stop()

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
    alone = {mode: asyncio.run(spool_alone(mode, count, concurrency)) for mode in (True, False)}

    ceiling = results["bare"]["rate"]

    def row(label: str, result: dict[str, float]) -> str:
        return (
            f"  {label:<38} {result['rate']:>8.0f} {result['rate'] * alerts_per_body:>9.0f} "
            f"{result['p50']:>7.1f} {result['p99']:>7.1f} {result['rate'] / ceiling:>7.2f}x"
        )

    print(
        f"\ningestion benchmark: {count} Alertmanager bodies ({alerts_per_body} alerts each) per variant in {rounds} "
        f"alternating rounds, {concurrency} connections, loopback, load from a separate process"
    )
    print(f"  {'variant':<38} {'req/s':>8} {'alerts/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'vs bare':>8}")
    print(row("bare 202 endpoint (same stack)", results["bare"]))
    for label in webhooks:
        print(row(f"webhook, {label}", results[label]))
    print(row("group commit at half its max rate", half) + "   (goal: p99 <= 20 ms)")

    def ratio(grouped_label: str, single_label: str) -> str:
        return (
            f"{results[grouped_label]['rate'] / results[single_label]['rate']:.2f}x (spool transactions "
            f"{transactions[grouped_label]:.0f} vs {transactions[single_label]:.0f})"
        )

    print("\n  acknowledged alerts/s, group commit / one fsync per request:")
    print(f"    webhook with its forwarder:  {ratio('group commit', 'fsync per request')}")
    print(f"    webhook, spool only:         {ratio('spool only, group commit', 'spool only, fsync per request')}")
    print(
        f"    spool alone, in-process:     {alone[True] / alone[False]:.2f}x "
        f"({alone[True]:.0f} vs {alone[False]:.0f} appends/s)"
    )
    print(f"  group commit vs bare endpoint: {results['group commit']['rate'] / ceiling:.2f}x (goal >= 0.5)")
    print(f"  Alertmanager fired -> alert group in the API: {end_to_end:.2f} s (group_wait 1 s included)")
    failures = sum(result["failures"] for result in (*results.values(), half))
    print(f"  requests not answered 202: {failures:.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="Requests per variant.")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4, help="Alternating rounds the requests are split into.")
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--load", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--token", default="", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--name", default="bench", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_bare is not None:
        serve_bare(arguments.serve_bare)
    elif arguments.load is not None:
        outcome = asyncio.run(
            load(
                arguments.load,
                arguments.token,
                arguments.requests,
                arguments.concurrency,
                arguments.rate,
                limit=120,
                name=arguments.name,
            )
        )
        print(json.dumps(outcome))
    else:
        main(arguments.requests, arguments.concurrency, arguments.rounds)
