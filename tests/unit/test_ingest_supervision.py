"""Supervision of the webhook's forwarder, faults injected by a real HTTP server standing in for the API: a proxy's
HTML 200 instead of the API's answer (the forwarder crashes on it), and an API that holds the request without
answering (the forwarder stalls). The liveness probe must fail in both cases and pass again once work resumes, with
every acknowledged alert delivered in the end."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.support.payloads import PAYLOADS
from tests.support.processes import free_port, serving_in_thread, wait_until

from signalcraft.api import SignalCraftClient
from signalcraft.ingest.app import WebhookConfig, create_webhook_app
from signalcraft.ingest.config import Integration, secret
from signalcraft.ingest.spool import Spool
from signalcraft.supervision import Progress, Supervisor

FIRING = (PAYLOADS / "alertmanager/alertmanager-bot-firing-v4-nonzero-endsat.json").read_bytes()


@dataclass
class FaultyApi:
    """`POST /v1/alert-events` answering as `mode` says: "ok", "html" (a proxy's 200 page) or "hang" (no answer
    until the mode changes)."""

    mode: str = "ok"
    delivered: list[dict[str, object]] = field(default_factory=list)

    async def alert_events(self, request: Request) -> Response:
        body = json.loads(await request.body())
        while self.mode == "hang":
            await asyncio.sleep(0.02)
        if self.mode == "html":
            return Response("<html><body>Welcome to nginx!</body></html>", media_type="text/html")
        self.delivered.extend(body["events"])
        return JSONResponse({"accepted": len(body["events"]), "alert_groups": []}, status_code=202)


@dataclass
class Running:
    url: str
    api: FaultyApi

    def alive(self) -> httpx.Response:
        return httpx.get(f"{self.url}/healthz", timeout=5)

    def restarts(self) -> float:
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        lines = [line for line in text.splitlines() if line.startswith("signalcraft_webhook_task_restarts_total")]
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if 'task="forwarder"' in line)


@contextmanager
def webhook_with(api: FaultyApi, tmp_path: Path) -> Iterator[Running]:
    api_port, port = free_port(), free_port()
    api_app = Starlette(routes=[Route("/v1/alert-events", api.alert_events, methods=["POST"])])
    (tmp_path / "token").write_text("am-token")
    config = WebhookConfig(
        integrations=[Integration("am", ("alertmanager",), token=secret(tmp_path / "token"))],
        stall_after_seconds=1.0,
        restart_backoff=(0.05, 0.2),
    )

    def connect() -> SignalCraftClient:
        return SignalCraftClient(f"http://127.0.0.1:{api_port}", "key", max_retries=0)

    app = create_webhook_app(config, Spool(tmp_path / "spool.db"), connect)
    with serving_in_thread(api_app, api_port), serving_in_thread(app, port):
        yield Running(f"http://127.0.0.1:{port}", api)


def post(running: Running) -> None:
    response = httpx.post(
        f"{running.url}/alertmanager", content=FIRING, headers={"Authorization": "Bearer am-token"}, timeout=10
    )
    assert response.status_code == 202, response.text


def test_a_crashing_forwarder_is_restarted_and_liveness_fails_until_it_delivers(tmp_path: Path) -> None:
    api = FaultyApi(mode="html")
    with webhook_with(api, tmp_path) as running:
        assert running.alive().status_code == 200
        post(running)
        wait_until(lambda: running.restarts() >= 3, timeout=20, what="the forwarder restarted after each crash")
        failing = wait_until(lambda: running.alive().status_code == 503 and running.alive(), timeout=20)
        assert isinstance(failing, httpx.Response)
        assert "forwarder" in failing.json()["detail"]
        assert api.delivered == [], "an HTML page is no acceptance: the entry stays"
        api.mode = "ok"
        wait_until(lambda: running.alive().status_code == 200, timeout=20, what="liveness after recovery")
        wait_until(lambda: len(api.delivered) == 1, timeout=20, what="the entry delivered")


def test_a_stalled_forwarder_fails_liveness_and_recovers(tmp_path: Path) -> None:
    api = FaultyApi(mode="hang")
    with webhook_with(api, tmp_path) as running:
        post(running)
        failing = wait_until(lambda: running.alive().status_code == 503 and running.alive(), timeout=20)
        assert isinstance(failing, httpx.Response)
        assert "no progress" in failing.json()["detail"]
        assert running.restarts() == 0, "a stall is not a crash"
        api.mode = "ok"
        wait_until(lambda: running.alive().status_code == 200, timeout=20, what="liveness after the stall")
        wait_until(lambda: len(api.delivered) == 1, timeout=20, what="the entry delivered")


async def test_supervisor_restarts_with_growing_backoff_and_counts() -> None:
    restarts: list[str] = []
    turns: list[float] = []

    async def crashing(progress: Progress) -> None:
        turns.append(asyncio.get_running_loop().time())
        raise ValueError("unforeseen")

    supervisor = Supervisor(first_backoff=0.02, max_backoff=0.2, on_restart=restarts.append, stall_after=0.05)
    supervisor.add("crasher", crashing)
    await supervisor.start()
    try:
        while len(turns) < 5:
            await asyncio.sleep(0.01)
        gaps = [later - earlier for earlier, later in itertools.pairwise(turns)]
        assert gaps[-1] > gaps[0], "a crash loop backs off further each time"
        assert restarts[:4] == ["crasher"] * 4
        while not supervisor.problems():
            await asyncio.sleep(0.01)
        (problem,) = supervisor.problems()
        assert problem.startswith("crasher: no progress for")
        assert problem.endswith("(last error: ValueError)")
    finally:
        await supervisor.stop()


async def test_idle_work_is_no_stall() -> None:
    async def idle(progress: Progress) -> None:
        await asyncio.Event().wait()

    supervisor = Supervisor(stall_after=0.01)
    supervisor.add("idle", idle, work_due=lambda: False)
    await supervisor.start()
    try:
        await asyncio.sleep(0.05)
        assert supervisor.problems() == []
    finally:
        await supervisor.stop()
    with pytest.raises(ValueError, match="already"):
        supervisor.add("idle", idle)
