"""Storage trouble over real HTTP: another process holds the database's write lock (a real lock, not a patch: SQLite's
BEGIN IMMEDIATE, or PostgreSQL's advisory write lock). Writes answer 503 + Retry-After after the bounded wait (webhooks
included, never 429), reads keep working, nothing half-done is remembered under an Idempotency-Key, and the client's
retries ride it out."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from tests.contract.helpers import ESCALATION, alert_event, problem, unique
from tests.support.api_server import ApiServer, running_api_server

from signalcraft.api import SignalCraftClient

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], str | None]) -> Iterator[ApiServer]:
    directory = tmp_path_factory.mktemp("api-faults")
    args = ["--busy-timeout", "0.2"]
    with running_api_server(directory, extra_args=args, database_url=new_database()) as server:
        yield server


def test_writes_answer_503_while_reads_go_on(api: ApiServer) -> None:
    name = unique("esc")
    with api.client() as client:
        client.put(f"/v1/escalation-policies/{name}", json={"spec": ESCALATION}).raise_for_status()
        key = {"Idempotency-Key": str(uuid.uuid4())}
        batch = {"events": [alert_event(unique("am"), "g", "a")]}
        with api.write_lock():
            busy = client.put(f"/v1/escalation-policies/{name}", json={"spec": {**ESCALATION, "num_loops": 1}})
            problem(busy, 503, "storage-busy")
            assert busy.headers["retry-after"] == "1"
            assert busy.headers["x-request-id"]
            assert client.get(f"/v1/escalation-policies/{name}").json()["version"] == 1
            problem(client.post("/v1/alert-events", json=batch, headers=key), 503, "storage-busy")
        retried = client.post("/v1/alert-events", json=batch, headers=key)
        assert retried.status_code == 202
        assert "idempotent-replayed" not in retried.headers, "a 503 is never stored under the key"


def test_webhooks_answer_503_never_429(api: ApiServer) -> None:
    name = unique("am")
    with api.client() as client:
        client.put(f"/v1/integrations/{name}", json={"spec": {"type": "alertmanager"}}).raise_for_status()
        url = client.get(f"/v1/integrations/{name}/connection").json()["webhook_url"]
    payload = (PAYLOADS / "alertmanager" / "alertmanager-bot-firing-v4-nonzero-endsat.json").read_bytes()
    headers = {"content-type": "application/json"}
    with api.write_lock():
        refused = httpx.post(url, content=payload, headers=headers)
        problem(refused, 503, "storage-busy")
    assert httpx.post(url, content=payload, headers=headers).status_code == 202


async def test_the_client_retries_until_the_lock_is_gone(api: ApiServer) -> None:
    name = unique("esc")
    holder = api.write_lock().acquire()
    # The lock is let go from another thread while the client is retrying the 503s.
    timer = threading.Timer(0.8, holder.release)
    timer.start()
    try:
        async with SignalCraftClient(api.url, api.admin_key, max_retries=6) as client:
            result = await client.put("escalation-policies", name, ESCALATION)
    finally:
        timer.join()
        holder.release()
    assert result.created
    assert result.resource.version == 1
