"""Ingestion benchmark with an external load generator (wrk 4.1 + bench/post.lua), all on loopback, in one run:

1. peak: raw asyncio 202 server (the machine's floor), a bare Starlette endpoint on the webhook's server stack, the
   webhook spool-only, the webhook with its forwarder delivering to the real API (req/s, alerts/s, p50, p99);
2. latency at half the webhook's maximum rate (wrk paced per connection);
3. sustained end to end: 60 s at a fixed rate into the webhook with its forwarder; alerts acknowledged vs alerts
   present in the API at the end, and the drain time after the load stopped;
4. a peer in the same run: Alerta 9.1 (`alerta-server` from the package index, in its own virtualenv) on Debian's
   PostgreSQL 15 (a temporary cluster run as `nobody`), `POST /webhooks/prometheus`, same body, same wrk flags;
5. a real Alertmanager firing → the alert group in the API (group_wait 1 s), after one warm-up firing, next to the
   same Alertmanager calling a receiver that only notes the time (Alertmanager's own floor: group_wait plus its intake).

Run: `.venv/bin/python -m bench.ingest` (options: --seconds, --sustained-seconds, --rate, --no-alerta).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "operator")]

import httpx  # noqa: E402
from tests.support.api_server import ApiServer, running_api_server  # noqa: E402
from tests.support.processes import Program, free_port, wait_until  # noqa: E402
from tests.support.webhook import Alertmanager, WebhookProcess, running_alertmanager, start_webhook  # noqa: E402

FIXTURE = (
    REPO / "tests" / "fixtures" / "payloads" / "alertmanager" / "oncall-example-two-alerts-firing-with-numfiring.json"
)
LUA = REPO / "bench" / "post.lua"
ALERTA_VERSION = "9.1.0"
ALERTA_VENV = Path.home() / ".cache" / "signalcraft" / f"alerta-{ALERTA_VERSION}-venv"
UV = Path.home() / ".cache" / "signalcraft" / "uv-0.13.9" / "bin" / "uv"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def body_template(workdir: Path) -> tuple[Path, int]:
    document = json.loads(FIXTURE.read_text())
    document["groupKey"] = '{}:{alertname="__GROUP__"}'
    path = workdir / "body.json"
    path.write_text(json.dumps(document))
    return path, len(document["alerts"])


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int) -> float:
    """User + system CPU of process `root` and every process below it (gunicorn's workers), from /proc."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        times[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def paced(
    url: str, body: Path, token: str, seconds: float, rate: float, *, pid: int, connections: int = 16
) -> dict[str, float]:
    """wrk at about `rate` requests/s: each connection waits before each request; the wait is calibrated with
    short probes first (wrk 4.1 has no fixed-rate mode, and latency adds to the wait)."""
    delay = 1000 * connections / rate
    for _ in range(2):
        probe = wrk(url, body, token, 3, pid=pid, connections=connections, delay_ms=delay)
        delay = max(0.0, delay * probe["rate"] / rate)
    return wrk(url, body, token, seconds, pid=pid, connections=connections, delay_ms=delay)


def wrk(
    url: str,
    body: Path,
    token: str,
    seconds: float,
    *,
    pid: int,
    connections: int = 32,
    delay_ms: float = 0,
    path: str = "",
) -> dict[str, float]:
    """One wrk run against `url`; also the CPU the server (process `pid` and its children) spent per request."""
    env = {**os.environ, "BODY_FILE": str(body), "TOKEN": token, "DELAY_MS": str(delay_ms), "RUN": uuid.uuid4().hex}
    if path:
        env["PATH_"] = path
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s", "-s", str(LUA), url]
    before = cpu_seconds(pid)
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=True, timeout=seconds + 60)
    spent = cpu_seconds(pid) - before
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    found: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    found["rate"] = (found["requests"] - found["errors"]) / found["seconds"]
    found["cpu_us"] = spent / max(1.0, found["requests"]) * 1e6
    return found


RAW_SERVER = """
import asyncio, sys
RESPONSE = (b"HTTP/1.1 202 Accepted\\r\\ncontent-length: 15\\r\\ncontent-type: application/json\\r\\n\\r\\n"
            b'{"accepted": 0}')
class Http(asyncio.Protocol):
    def connection_made(self, transport): self.transport, self.buffer = transport, b""
    def data_received(self, data):
        self.buffer += data
        while True:
            head, sep, rest = self.buffer.partition(b"\\r\\n\\r\\n")
            if not sep: return
            length = 0
            for line in head.split(b"\\r\\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length": length = int(value)
            if len(rest) < length: return
            self.buffer = rest[length:]
            self.transport.write(RESPONSE)
async def main():
    server = await asyncio.get_running_loop().create_server(Http, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
"""

BARE_SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def accept(request):
    await request.body()
    return JSONResponse({"accepted": 0}, status_code=202)
app = Starlette(routes=[Route("/alertmanager", accept, methods=["POST"]), Route("/healthz", accept)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


@contextmanager
def python_server(code: str, workdir: Path, name: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    (workdir / f"{name}.py").write_text(code)
    program = Program([str(workdir / f"{name}.py"), str(port)], workdir / f"{name}.log", executable=sys.executable)
    program.start()

    def up() -> bool:
        return httpx.post(f"http://127.0.0.1:{port}/alertmanager", content=b"{}", timeout=2).status_code == 202

    wait_until(up, timeout=30, what=name)
    try:
        assert program.process is not None
        yield f"http://127.0.0.1:{port}", program.process.pid
    finally:
        program.stop()


def api_alerts(api: ApiServer, integration: str) -> int:
    total, cursor = 0, None
    with api.client() as http:
        while True:
            params = {"integration": integration, "limit": "500", **({"cursor": cursor} if cursor else {})}
            page = http.get("/v1/alert-groups", params=params, timeout=60).json()
            total += sum(group["alert_count"] for group in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return total


@contextmanager
def alerta(workdir: Path) -> Iterator[tuple[str, int]]:
    """Alerta 9.1 under gunicorn (1 sync worker, its documented default) on a throwaway PostgreSQL 15 cluster."""
    if not (ALERTA_VENV / "bin" / "gunicorn").exists():
        subprocess.run([str(UV), "venv", "--python", "python3", str(ALERTA_VENV)], check=True)
        subprocess.run(
            [str(UV), "pip", "install", f"alerta-server[postgres]=={ALERTA_VERSION}", "gunicorn", "psycopg2-binary"],
            env={**os.environ, "VIRTUAL_ENV": str(ALERTA_VENV)},
            check=True,
        )
    pg = Path(tempfile.mkdtemp(prefix="signalcraft-bench-pg-"))
    shutil.chown(pg, "nobody")
    as_nobody = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    subprocess.run(
        [*as_nobody, str(PG_BIN / "initdb"), "-D", str(pg / "data"), "-A", "trust", "-U", "alerta"],
        check=True,
        capture_output=True,
    )
    pg_port = free_port()
    postgres = (
        Program(
            [
                *as_nobody[1:],
                str(PG_BIN / "postgres"),
                "-D",
                str(pg / "data"),
                "-k",
                str(pg),
                "-h",
                "127.0.0.1",
                "-p",
                str(pg_port),
            ],
            workdir / "postgres.log",
            executable=as_nobody[0] if as_nobody else None,
        )
        if as_nobody
        else Program(
            ["-D", str(pg / "data"), "-k", str(pg), "-h", "127.0.0.1", "-p", str(pg_port)],
            workdir / "postgres.log",
            executable=str(PG_BIN / "postgres"),
        )
    )
    postgres.start()
    try:
        wait_until(
            lambda: (
                subprocess.run(
                    [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(pg_port)],
                    capture_output=True,
                    check=False,
                ).returncode
                == 0
            ),
            timeout=30,
            what="PostgreSQL",
        )
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "alerta", "monitoring"], check=True
        )
        port = free_port()
        server = Program(
            ["-w", "1", "-b", f"127.0.0.1:{port}", "alerta:create_app()"],
            workdir / "alerta.log",
            env={"DATABASE_URL": f"postgres://alerta@127.0.0.1:{pg_port}/monitoring"},
            executable=str(ALERTA_VENV / "bin" / "gunicorn"),
        ).start()
        try:
            wait_until(
                lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code < 500, timeout=60, what="Alerta"
            )
            assert server.process is not None
            yield f"http://127.0.0.1:{port}", server.process.pid
        finally:
            server.stop()
    finally:
        postgres.stop()
        shutil.rmtree(pg, ignore_errors=True)


@dataclass
class NotedReceiver:
    """A receiver that answers 200 at once and notes when each notification arrived (Alertmanager's floor)."""

    url: str
    token: str = "floor"
    arrivals: list[float] = field(default_factory=list)


@contextmanager
def noted_receiver() -> Iterator[NotedReceiver]:
    arrivals: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrivals.append(time.perf_counter())
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield NotedReceiver(f"http://127.0.0.1:{server.server_address[1]}", arrivals=arrivals)
    finally:
        server.shutdown()


def fire(alertmanager: Alertmanager, name: str, *steps: Callable[[], bool]) -> list[float]:
    """Fire one alert; the seconds until each of `steps` held, in order."""
    fired = time.perf_counter()
    labels = {"alertname": name, "severity": "critical"}
    alertmanager.fire({"labels": labels, "startsAt": datetime.now(UTC).isoformat()})
    took = []
    for step in steps:
        wait_until(step, timeout=60, interval=0.005)
        took.append(time.perf_counter() - fired)
    return took


FIRINGS = 3


def pid_of(hook: WebhookProcess) -> int:
    assert hook.program.process is not None
    return hook.program.process.pid


def main(seconds: float, sustained: float, rate: float, with_alerta: bool) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="signalcraft-bench-ingest-"))
    body, per_body = body_template(workdir)
    rows: dict[str, dict[str, float]] = {}
    print(f"machine: {os.cpu_count()} cores; wrk -t2 -c32 -d{seconds:.0f}s; body {FIXTURE.name} ({per_body} alerts)")
    with python_server(RAW_SERVER, workdir, "raw") as (url, pid):
        rows["raw asyncio 202 server (floor)"] = wrk(f"{url}/alertmanager", body, "", seconds, pid=pid)
    with python_server(BARE_SERVER, workdir, "bare") as (url, pid):
        rows["bare endpoint, Starlette + uvicorn"] = wrk(f"{url}/alertmanager", body, "", seconds, pid=pid)
    with running_api_server(workdir / "api", extra_args=["--rate-limit", "1000000"]) as api:
        only = start_webhook(api, workdir / "only", "bench-only", extra_args=["--no-forward"])
        rows["webhook, spool only"] = wrk(f"{only.url}/alertmanager", body, only.token, seconds, pid=pid_of(only))
        only.program.stop()
        hook = start_webhook(api, workdir / "fwd", "bench-fwd")
        url = f"{hook.url}/alertmanager"
        rows["webhook + forwarder to the API"] = wrk(url, body, hook.token, seconds, pid=pid_of(hook))
        wait_until(lambda: hook.metric("signalcraft_webhook_spool_depth") == 0, timeout=600, interval=0.2)
        merged = hook.metric("signalcraft_webhook_delivered_total") / max(
            1.0, hook.metric("signalcraft_webhook_delivery_requests_total")
        )
        half_rate = rows["webhook + forwarder to the API"]["rate"] / 2
        half = paced(url, body, hook.token, seconds, half_rate, pid=pid_of(hook))
        rows[f"webhook + forwarder, paced at half max ({half_rate:.0f} req/s offered)"] = half
        wait_until(lambda: hook.metric("signalcraft_webhook_spool_depth") == 0, timeout=600, interval=0.2)
        hook.program.stop()

        steady = start_webhook(api, workdir / "steady", "bench-steady")
        url = f"{steady.url}/alertmanager"
        result = paced(url, body, steady.token, sustained, rate / per_body, pid=pid_of(steady), connections=32)
        stopped = time.perf_counter()
        acknowledged = int(steady.metric("signalcraft_webhook_received_alerts_total"))
        wait_until(lambda: steady.metric("signalcraft_webhook_spool_depth") == 0, timeout=900, interval=0.05)
        drain = time.perf_counter() - stopped
        present = api_alerts(api, "bench-steady")
        dead = steady.metric("signalcraft_webhook_dead_letters")
        steady.program.stop()

        with noted_receiver() as floor, running_alertmanager(workdir / "am-floor", floor) as alertmanager:
            fire(alertmanager, "Warm-up", lambda: len(floor.arrivals) >= 1)
            am_floor = [
                fire(alertmanager, f"Floor{n}", lambda n=n: len(floor.arrivals) >= n + 2)[0] for n in range(FIRINGS)
            ]
        timing = start_webhook(api, workdir / "am-webhook", "bench-am")
        with running_alertmanager(workdir / "am", timing) as alertmanager, api.client() as client:

            def groups() -> int:
                return len(client.get("/v1/alert-groups", params={"integration": "bench-am"}).json()["items"])

            def answered() -> float:
                return timing.metric("signalcraft_webhook_received_total")

            fire(alertmanager, "Warm-up", lambda: groups() >= 1)
            am_runs = [
                fire(
                    alertmanager,
                    f"Latency{n}",
                    lambda n=n: answered() >= n + 2,
                    lambda n=n: groups() >= n + 2,
                )
                for n in range(FIRINGS)
            ]
        timing.program.stop()
    if with_alerta:
        with alerta(workdir) as (url, pid):
            rows["Alerta 9.1 (gunicorn, PostgreSQL 15)"] = wrk(
                f"{url}/webhooks/prometheus", body, "", seconds, pid=pid, path="/webhooks/prometheus"
            )

    bare = rows["bare endpoint, Starlette + uvicorn"]
    header = f"| {'variant':<64} | {'req/s':>7} | {'alerts/s':>8} | {'p50 ms':>6} | {'p99 ms':>6} | {'vs bare':>7} |"
    print(f"\n{header} {'CPU µs/req':>10} | {'CPU vs bare':>11} |")
    print(f"|{'-' * 66}|{'-' * 9}|{'-' * 10}|{'-' * 8}|{'-' * 8}|{'-' * 9}|{'-' * 12}|{'-' * 13}|")
    for label, row in rows.items():
        print(
            f"| {label:<64} | {row['rate']:>7.0f} | {row['rate'] * per_body:>8.0f} | {row['p50_ms']:>6.1f} | "
            f"{row['p99_ms']:>6.1f} | {row['rate'] / bare['rate']:>6.2f}x | {row['cpu_us']:>10.0f} | "
            f"{bare['cpu_us'] / row['cpu_us']:>10.2f}x |"
        )
    fwd = rows["webhook + forwarder to the API"]["rate"]
    only = rows["webhook, spool only"]["rate"]
    print(f"\nwebhook spool-only / bare endpoint: {only / bare['rate']:.2f}x (goal >= 0.5)")
    print(f"webhook + forwarder / bare endpoint: {fwd / bare['rate']:.2f}x (the API server shares the machine)")
    print(f"forwarder: {merged:.1f} spool entries per POST /v1/alert-events during the peak run")
    print(f"p99 at half the maximum rate: {half['p99_ms']:.1f} ms (goal <= 20)")
    print(
        f"sustained {sustained:.0f}s at {rate:.0f} alerts/s offered: {result['rate'] * per_body:.0f} alerts/s "
        "achieved, "
        f"{acknowledged} acknowledged, {present} in the API, lost {max(0, acknowledged - present)}, "
        f"dead letters {dead:.0f}, "
        f"drained {drain:.2f}s after the load stopped (goal: >= 1000 alerts/s, 0 lost, drain <= 5 s)"
    )
    if with_alerta:
        peer = rows["Alerta 9.1 (gunicorn, PostgreSQL 15)"]["rate"]
        print(f"webhook + forwarder / Alerta: {fwd / peer:.1f}x (goal >= 10)")
    at_webhook = statistics.median(run[0] for run in am_runs)
    end_to_end = statistics.median(run[1] for run in am_runs)
    print(
        f"Alertmanager fired -> alert group in the API: median {end_to_end * 1000:.0f} ms of {FIRINGS} after a warm-up "
        f"({', '.join(f'{run[1] * 1000:.0f}' for run in am_runs)}; group_wait 1000 ms; goal <= 1100); "
        f"Alertmanager -> webhook acknowledged {at_webhook * 1000:.0f} ms, webhook -> API "
        f"{(end_to_end - at_webhook) * 1000:.0f} ms; the same Alertmanager -> a receiver that only notes the time: "
        f"median {statistics.median(am_floor) * 1000:.0f} ms ({', '.join(f'{took * 1000:.0f}' for took in am_floor)}), "
        "Alertmanager's own floor"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--sustained-seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=1000, help="Alerts per second offered in the sustained run.")
    parser.add_argument("--no-alerta", action="store_true")
    arguments = parser.parse_args()
    main(arguments.seconds, arguments.sustained_seconds, arguments.rate, not arguments.no_alerta)
