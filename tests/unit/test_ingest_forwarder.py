"""The forwarder against an HTTP server that answers what the API can answer (422, 503 + Retry-After, 401), over
real loopback HTTP with a real spool: order kept, the same Idempotency-Key on every retry, dead letters only for a
refused entry, a 401 makes it pick up a new key, and an earlier acceptance under the same key counts as delivered."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.support.processes import free_port, serving_in_thread

from signalcraft.api import SignalCraftClient
from signalcraft.api.alerts import AlertEvent, AlertStatus
from signalcraft.ingest.forwarder import Forwarder
from signalcraft.ingest.metrics import WebhookMetrics
from signalcraft.ingest.pipeline import Batch, batches
from signalcraft.ingest.spool import Spool


@dataclass
class Attempt:
    at: float
    key: str
    summaries: tuple[str, ...]
    authorization: str
    status: int

    @property
    def summary(self) -> str:
        return self.summaries[0] if len(self.summaries) == 1 else "+".join(self.summaries)


@dataclass
class ScriptedApi:
    """Answers POST /v1/alert-events from a script (summary -> statuses in turn, for the first scripted summary in
    the request), else 202 after `delay`; records every attempt and the requests in flight at once."""

    script: dict[str, list[tuple[int, dict[str, str], dict[str, str]]]] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    delay: float = 0.0
    in_flight: int = 0
    most_in_flight: int = 0

    async def alert_events(self, request: Request) -> Response:
        body = json.loads(await request.body())
        summaries = tuple(event["summary"] for event in body["events"])
        planned = next((self.script[name] for name in summaries if self.script.get(name)), [])
        status, headers, problem = planned.pop(0) if planned else (202, {}, {})
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        key, authorization = request.headers["idempotency-key"], request.headers["authorization"]
        self.attempts.append(Attempt(time.monotonic(), key, summaries, authorization, status))
        if status == 202:
            return JSONResponse({"accepted": len(summaries), "alert_groups": []}, status_code=202)
        return JSONResponse(
            {"type": "about:blank", "title": problem.get("code", "error"), "status": status, **problem},
            status_code=status,
            headers=headers,
            media_type="application/problem+json",
        )


@pytest.fixture
def api() -> Iterator[tuple[ScriptedApi, str]]:
    scripted = ScriptedApi()
    port = free_port()
    app = Starlette(routes=[Route("/v1/alert-events", scripted.alert_events, methods=["POST"])])
    with serving_in_thread(app, port):
        yield scripted, f"http://127.0.0.1:{port}"


def entry(summary: str, group: str | None = None, status: AlertStatus = AlertStatus.FIRING) -> list[Batch]:
    event = AlertEvent(
        source="alertmanager",
        group_key=group or summary,
        dedup_key=summary,
        status=status,
        summary=summary,
        occurred_at=datetime(2026, 11, 23, tzinfo=UTC),
    )
    return batches([event])


async def drain(spool: Spool, forwarder: Forwarder, timeout: float = 30) -> None:
    task = asyncio.create_task(forwarder.run())
    deadline = time.monotonic() + timeout
    try:
        while spool.depth and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert spool.depth == 0, "the spool did not drain"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_order_retries_retry_after_and_dead_letters(api: tuple[ScriptedApi, str], tmp_path: Path) -> None:
    scripted, url = api
    refused = (422, {}, {"code": "validation-failed", "detail": "summary is bad"})
    scripted.script = {
        "refused": [refused, refused],
        "busy": [(503, {"Retry-After": "1"}, {"code": "overloaded", "detail": "later"})],
        "seen": [(422, {}, {"code": "idempotency-key-reused", "detail": "used with a different body"})],
    }
    spool = Spool(tmp_path / "spool.db")
    await spool.open()
    for summary in ("refused", "busy", "after-busy", "seen"):
        await spool.append(entry(summary))
    metrics = WebhookMetrics()
    forwarder = Forwarder(spool, lambda: SignalCraftClient(url, "key", max_retries=0), metrics, first_backoff=0.05)
    await drain(spool, forwarder)

    assert [(attempt.summary, attempt.status) for attempt in scripted.attempts] == [
        ("refused+busy+after-busy+seen", 422),
        ("refused", 422),
        ("busy", 503),
        ("busy", 202),
        ("after-busy", 202),
        ("seen", 422),
    ], "one request for all; refused, it goes entry by entry: the refused one is set aside, a failing one waits"
    busy = [attempt for attempt in scripted.attempts if attempt.summary == "busy"]
    assert busy[0].key == busy[1].key, "a retry carries the same Idempotency-Key"
    assert busy[1].at - busy[0].at >= 0.95, "Retry-After: 1 was obeyed"
    (dead,) = await spool.dead_letters()
    assert "summary is bad" in dead[1]
    delivered = metrics.registry.get_sample_value("signalcraft_webhook_delivered_total")
    assert delivered == 3, "busy, after-busy, and seen (accepted earlier under its key)"
    await spool.close()


async def test_a_refused_key_blocks_and_a_new_key_is_used(api: tuple[ScriptedApi, str], tmp_path: Path) -> None:
    scripted, url = api
    scripted.script = {"alert": [(401, {}, {"code": "unauthenticated", "detail": "revoked"})]}
    keys = iter(["old-key", "new-key"])
    spool = Spool(tmp_path / "spool.db")
    await spool.open()
    await spool.append(entry("alert"))
    forwarder = Forwarder(
        spool, lambda: SignalCraftClient(url, next(keys), max_retries=0), WebhookMetrics(), first_backoff=0.05
    )
    await drain(spool, forwarder)
    assert [(attempt.authorization, attempt.status) for attempt in scripted.attempts] == [
        ("Bearer old-key", 401),
        ("Bearer new-key", 202),
    ]
    assert await spool.dead_letters() == [], "a refused key never discards an entry"
    await spool.close()


async def test_many_entries_per_request_several_in_flight_and_order_kept_per_group(
    api: tuple[ScriptedApi, str], tmp_path: Path
) -> None:
    scripted, url = api
    scripted.delay = 0.05
    spool = Spool(tmp_path / "spool.db")
    await spool.open()
    for index in range(40):
        await spool.append(entry(f"fire-{index}", group=f"g{index}"))
    big = [
        AlertEvent(
            source="alertmanager",
            group_key=f"big{number}",
            dedup_key=f"a{alert}",
            status=AlertStatus.FIRING,
            summary=f"big{number}-{alert}",
            occurred_at=datetime(2026, 11, 23, tzinfo=UTC),
        )
        for number in range(8)
        for alert in range(300)
    ]
    await spool.append(batches(big))
    for index in range(40):
        await spool.append(entry(f"resolve-{index}", group=f"g{index}", status=AlertStatus.RESOLVED))
    forwarder = Forwarder(spool, lambda: SignalCraftClient(url, "key", max_retries=0), WebhookMetrics(), in_flight=4)
    await drain(spool, forwarder)

    arrived = [summary for attempt in scripted.attempts for summary in attempt.summaries]
    assert len(arrived) == 80 + 2400, "every event once"
    for index in range(40):
        assert arrived.index(f"fire-{index}") < arrived.index(f"resolve-{index}"), "a resolve never overtakes"
    assert max(len(attempt.summaries) for attempt in scripted.attempts) > 40, "many entries per request"
    assert all(len(attempt.summaries) <= 1000 for attempt in scripted.attempts), "within the API's limit"
    assert scripted.most_in_flight > 1, "several requests in flight"
    assert len(scripted.attempts) < 15
    await spool.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signalcraft", "webhook", "dead-letters", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


async def test_dead_letters_are_counted_listed_and_retried_from_the_command_line(
    api: tuple[ScriptedApi, str], tmp_path: Path
) -> None:
    scripted, url = api
    scripted.script = {"unknown": [(422, {}, {"code": "validation-failed", "detail": "no such integration yet"})]}
    spool = Spool(tmp_path / "spool.db")
    await spool.open()
    await spool.append(entry("unknown"))
    metrics = WebhookMetrics()
    forwarder = Forwarder(spool, lambda: SignalCraftClient(url, "key", max_retries=0), metrics)
    await drain(spool, forwarder)
    assert spool.dead_letter_count == 1
    assert metrics.registry.get_sample_value("signalcraft_webhook_dead_lettered_total") == 1

    listed = await asyncio.to_thread(cli, "list", "--json", "--spool", str(tmp_path / "spool.db"))
    assert listed.returncode == 0, listed.stderr
    (letter,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert letter["events"] == 1
    assert "no such integration yet" in letter["reason"]
    refused = await asyncio.to_thread(cli, "retry", "--spool", str(tmp_path / "spool.db"))
    assert refused.returncode != 0, "neither keys nor --all"
    retried = await asyncio.to_thread(cli, "retry", letter["key"], "--spool", str(tmp_path / "spool.db"))
    assert retried.returncode == 0, retried.stderr
    assert "1 dead letters back" in retried.stdout

    task = asyncio.create_task(forwarder.run())  # the running spool finds the entry the command put back
    try:
        deadline = time.monotonic() + 30
        while len(scripted.attempts) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [attempt.key for attempt in scripted.attempts] == [letter["key"], letter["key"]], "same key again"
    assert scripted.attempts[-1].status == 202
    assert await spool.dead_letters() == []
    await spool.close()
