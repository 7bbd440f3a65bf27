"""API benchmark with wrk (Debian's wrk 4.1, Lua scripts in bench/wrk/): GET one, LIST 100, PUT replace and
`POST /v1/events`, each next to a bare endpoint on the same stack — Starlette + uvicorn with the same loop and HTTP
parser as `signalcraft api`, no middleware, answering the very bytes the real server answered — for both storage
engines (SQLite, and a real PostgreSQL 15 started for the run), in one run. A second bare endpoint answers the same
bytes from FastAPI routes (the API's framework, none of its code), so the gap to the bare endpoint splits into what the
framework costs and what SignalCraft's own work costs; every row also shows the server process's CPU time per request,
which other load on the machine moves far less than it moves requests per second.

For every scenario and server: the maximum rate (closed loop, `-t2 -c16`), then p50/p99 latency at half of that rate
(each connection paced to a fixed schedule by the Lua script), so the table shows throughput and the latency a server
gives when it is not saturated. The servers run on core 0, wrk on core 1 (PostgreSQL's own processes are not pinned);
the targets of a scenario are measured one after another in the same minute, so other load on the machine hits them
alike. Loopback only, bounded in time.

Run: `make bench` or `.venv/bin/python -m bench.api [--duration 5] [--engines sqlite postgresql]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "operator")]

import httpx  # noqa: E402
from starlette.requests import Request  # noqa: E402  (module level: FastAPI resolves the handlers' annotations here)
from starlette.responses import Response  # noqa: E402
from tests.support.api_server import ApiServer, running_api_server  # noqa: E402
from tests.support.postgres import running_postgres  # noqa: E402
from tests.support.processes import Program, free_port, wait_until  # noqa: E402

LUA = REPO / "bench" / "wrk"
SERVER_CPU, LOAD_CPU = 0, 1
ESCALATION = {"rules": [{"delay_minutes": 0, "targets": [{"type": "user", "name": "alice"}]}], "num_loops": 0}
GOALS = {"get": 0.4, "list": None, "put": 0.2, "events": 0.2}
"""Minimum ratio to the bare endpoint per scenario (LIST has none); and p99 at half the maximum rate ≤ 25 ms."""
P99_BUDGET_MS = 25.0


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    script: str
    path: str


SCENARIOS = [
    Scenario("get", "GET one", "get.lua", "/v1/escalation-policies/bench-get"),
    Scenario("list", "LIST 100", "get.lua", "/v1/escalation-policies?limit=100"),
    Scenario("put", "PUT replace", "put.lua", "/v1/escalation-policies/bench-put"),
    Scenario("events", "POST /v1/events", "events.lua", "/v1/events"),
]


# ---------------------------------------------------------------- the bare endpoint


def serve_bare(port: int, bodies: Path, framework: str) -> None:
    """uvicorn (uvloop, httptools: as `signalcraft api`) with no middleware answering the real answers' bytes, on
    plain Starlette routes or, `framework="fastapi"`, on FastAPI routes (the API's framework, nothing of ours)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Route

    answers = json.loads(bodies.read_text())

    def answer(name: str) -> Response:
        stored = answers[name]
        return Response(stored["body"].encode(), stored["status"], stored["headers"])

    async def get_one(request: Request) -> Response:
        return answer("get")

    async def listing(request: Request) -> Response:
        return answer("list")

    async def put(request: Request) -> Response:
        await request.body()
        return answer("put")

    async def event(request: Request) -> Response:
        await request.body()
        return answer("events")

    async def health(request: Request) -> Response:
        return Response(b"{}", 200, media_type="application/json")

    routes = [
        ("/v1/escalation-policies/bench-get", get_one, "GET"),
        ("/v1/escalation-policies", listing, "GET"),
        ("/v1/escalation-policies/bench-put", put, "PUT"),
        ("/v1/events", event, "POST"),
        ("/healthz", health, "GET"),
    ]
    app: Any
    if framework == "fastapi":
        from fastapi import FastAPI

        app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
        for path, handler, method in routes:
            app.add_api_route(path, handler, methods=[method])
    else:
        app = Starlette(routes=[Route(path, handler, methods=[method]) for path, handler, method in routes])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def running_bare(directory: Path, answers: dict[str, Any], framework: str = "starlette") -> Iterator[tuple[str, int]]:
    bodies = directory / "answers.json"
    bodies.write_text(json.dumps(answers))
    port = free_port()
    argv = ["--serve-bare", str(port), "--bodies", str(bodies), "--framework", framework]
    program = Program(argv, directory / f"bare-{framework}.log")
    program.executable = sys.executable
    program.argv = ["-m", "bench.api", *program.argv]
    program.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/healthz").status_code == 200, timeout=30, what="the bare server")
        assert program.process is not None
        os.sched_setaffinity(program.process.pid, {SERVER_CPU})
        yield url, program.process.pid
    finally:
        program.stop()


# ---------------------------------------------------------------- the real servers


def seed(api: ApiServer, directory: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Objects the scenarios touch; the real answers (for the bare server) and the files the wrk scripts send."""
    with api.client() as admin:
        admin.put("/v1/escalation-policies/bench-get", json={"spec": ESCALATION}).raise_for_status()
        for index in range(100):
            admin.put(f"/v1/escalation-policies/bench-list-{index:03}", json={"spec": ESCALATION}).raise_for_status()
        put_a = {"spec": ESCALATION, "labels": {"bench": "a"}}
        put_b = {"spec": {**ESCALATION, "num_loops": 1}, "labels": {"bench": "b"}}
        admin.put("/v1/escalation-policies/bench-put", json=put_a).raise_for_status()
        policy = {
            "severity": "critical",
            "routing_key": "bench-routing-key",
            "escalation_policy": {"name": "bench-get"},
        }
        admin.put("/v1/alert-policies/bench-events", json={"spec": policy}).raise_for_status()
        event = {
            "routing_key": "bench-routing-key",
            "event_action": "trigger",
            "dedup_key": "DEDUP",
            "payload": {"summary": "disk almost full on db-1", "source": "db-1", "severity": "critical"},
        }
        answers = {
            "get": admin.get("/v1/escalation-policies/bench-get"),
            "list": admin.get("/v1/escalation-policies", params={"limit": "100"}),
            "put": admin.put("/v1/escalation-policies/bench-put", json=put_b),
            "events": httpx.post(f"{api.url}/v1/events", json={**event, "dedup_key": "alert-0-0"}),
        }
    files = {"SC_BODY_A": directory / "put-a.json", "SC_BODY_B": directory / "put-b.json"}
    files["SC_BODY_A"].write_text(json.dumps(put_a))
    files["SC_BODY_B"].write_text(json.dumps(put_b))
    files["SC_BODY"] = directory / "event.json"
    files["SC_BODY"].write_text(json.dumps(event))
    kept = {"content-type", "etag"}
    stored = {
        name: {
            "status": response.status_code,
            "body": response.text,
            "headers": {key: value for key, value in response.headers.items() if key in kept},
        }
        for name, response in answers.items()
    }
    return stored, {name: str(path) for name, path in files.items()}


# ---------------------------------------------------------------- wrk


@dataclass(frozen=True)
class Target:
    url: str
    env: dict[str, str]
    pid: int
    """The server process, whose CPU time per request the table shows (PostgreSQL's own processes not counted)."""


@dataclass(frozen=True)
class Measured:
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float
    """CPU time of the server process per request answered: unlike req/s, hardly moved by other load on the machine."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(target: Target, scenario: Scenario, duration: float, rate: float | None = None) -> Measured:
    """One wrk run: closed loop, or every connection paced so that all of them together offer `rate` requests/s."""
    url, env = target.url, target.env
    connections, threads = 16, 2
    run_env = {**os.environ, **env, "SC_LUA_DIR": str(LUA), "SC_RATE": str((rate or 0) / connections)}
    argv = ["taskset", "-c", str(LOAD_CPU), "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s"]
    argv += ["--timeout", "10s", "-s", str(LUA / scenario.script), url + scenario.path]
    cpu_before = cpu_seconds(target.pid)
    result = subprocess.run(argv, capture_output=True, text=True, env=run_env, timeout=duration + 60, check=True)
    cpu = cpu_seconds(target.pid) - cpu_before
    line = next(line for line in reversed(result.stdout.splitlines()) if line.startswith("{"))
    data = json.loads(line)
    return Measured(
        rate=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["status_errors"] + data["socket_errors"],
        cpu_us=1e6 * cpu / max(1, data["requests"]),
    )


@dataclass(frozen=True)
class Row:
    peak: Measured
    paced: Measured


def measure(targets: dict[str, Target], duration: float) -> dict[str, dict[str, Row]]:
    results: dict[str, dict[str, Row]] = {}
    for scenario in SCENARIOS:
        results[scenario.name] = {}
        for name, target in targets.items():
            wrk(target, scenario, 1)  # warm up: connections, caches, statement cache
            peak = wrk(target, scenario, duration)
            paced = wrk(target, scenario, duration, rate=peak.rate / 2)
            results[scenario.name][name] = Row(peak, paced)
            print(
                f"  {scenario.title:<16} {name:<11} {peak.rate:8.0f} req/s {peak.cpu_us:6.0f} µs CPU/req; "
                f"at {peak.rate / 2:6.0f}/s: "
                f"p50 {paced.p50_ms:6.2f} ms  p99 {paced.p99_ms:6.2f} ms  errors {peak.errors + paced.errors}",
                file=sys.stderr,
            )
    return results


def table(results: dict[str, dict[str, Row]], engines: list[str]) -> str:
    servers = ["fastapi", *engines]
    header = ["scenario", "bare req/s", *[f"{server} req/s (x bare)" for server in servers]]
    header += ["CPU µs/req: " + " / ".join(["bare", *servers])]
    header += ["bare p50/p99 ms @½", *[f"{engine} p50/p99 ms @½" for engine in engines], "goal"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for scenario in SCENARIOS:
        rows = results[scenario.name]
        bare = rows["bare"]
        cells = [scenario.title, f"{bare.peak.rate:,.0f}"]
        goal = GOALS[scenario.name]
        met = True
        for server in servers:
            ratio = rows[server].peak.rate / bare.peak.rate
            cells.append(f"{rows[server].peak.rate:,.0f} ({ratio:.2f}x)")
        for engine in engines:
            ratio = rows[engine].peak.rate / bare.peak.rate
            met = met and (goal is None or ratio >= goal) and rows[engine].paced.p99_ms <= P99_BUDGET_MS
            met = met and rows[engine].peak.errors + rows[engine].paced.errors == 0
        cells.append(" / ".join(f"{rows[server].peak.cpu_us:,.0f}" for server in ["bare", *servers]))
        cells.append(f"{bare.paced.p50_ms:.2f} / {bare.paced.p99_ms:.2f}")
        cells += [f"{rows[engine].paced.p50_ms:.2f} / {rows[engine].paced.p99_ms:.2f}" for engine in engines]
        wanted = f"≥ {goal}x, " if goal is not None else ""
        cells.append(f"{wanted}p99 ≤ {P99_BUDGET_MS:.0f} ms: {'met' if met else 'MISSED'}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements here")
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--bodies", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--framework", default="starlette", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare is not None:
        serve_bare(args.serve_bare, args.bodies, args.framework)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: make tools (tools/system-packages.sh) installs Debian's wrk")
    directory = Path(tempfile.mkdtemp(prefix="signalcraft-bench-api-"))
    unlimited = ["--rate-limit", "1000000", "--events-rate-limit", "1000000"]
    with ExitStack() as stack:
        targets: dict[str, Target] = {}
        answers: dict[str, Any] | None = None
        for engine in args.engines:
            url = None
            if engine == "postgresql":
                url = stack.enter_context(running_postgres()).create_database("bench")
            api = stack.enter_context(running_api_server(directory / engine, extra_args=unlimited, database_url=url))
            os.sched_setaffinity(api.process.pid, {SERVER_CPU})
            seeded, files = seed(api, directory / engine)
            answers = answers or seeded
            targets[engine] = Target(api.url, {"SC_KEY": api.admin_key, **files}, api.process.pid)
        assert answers is not None
        bare = stack.enter_context(running_bare(directory, answers))
        bare_fastapi = stack.enter_context(running_bare(directory, answers, "fastapi"))
        first = next(iter(targets.values())).env
        unauthenticated = {key: value for key, value in first.items() if key != "SC_KEY"}
        targets = {
            "bare": Target(bare[0], unauthenticated, bare[1]),
            "fastapi": Target(bare_fastapi[0], unauthenticated, bare_fastapi[1]),
            **targets,
        }
        print(
            f"wrk -t2 -c16, {args.duration:.0f} s per run; {os.cpu_count()} cores ({platform.processor() or 'cpu'}); "
            f"Python {platform.python_version()}; server on core {SERVER_CPU}, wrk on core {LOAD_CPU}; "
            f"load average {os.getloadavg()[0]:.2f} before the run",
            file=sys.stderr,
        )
        started = time.monotonic()
        results = measure(targets, args.duration)
    print(table(results, args.engines))
    print(
        f"\n({time.monotonic() - started:.0f} s of measurement, load average {os.getloadavg()[0]:.2f} at the end; "
        "ratios are to the bare Starlette endpoint of the same run; bare FastAPI is the same endpoint on FastAPI "
        "routes, so the gap splits into framework and SignalCraft's own work; CPU is the server process's time per "
        "request at the maximum rate)"
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    scenario: {
                        target: {"peak": row.peak.__dict__, "paced": row.paced.__dict__} for target, row in rows.items()
                    }
                    for scenario, rows in results.items()
                },
                indent=2,
            )
        )
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
