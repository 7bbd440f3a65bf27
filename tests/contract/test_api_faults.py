"""Storage trouble over real HTTP: another process holds the SQLite write lock (a real lock, not a patch). Writes answer
503 + Retry-After (webhooks included, never 429), reads keep working, nothing half-done is remembered under an
Idempotency-Key, and the client's retries ride it out."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.contract.helpers import ESCALATION, alert_event, problem, unique
from tests.support.api_server import ApiServer, running_api_server

from signalcraft.api import SignalCraftClient

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with running_api_server(tmp_path_factory.mktemp("api-faults"), extra_args=["--busy-timeout", "0.2"]) as server:
        yield server


@contextmanager
def write_lock(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's write lock from this (other) process until the block ends."""
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield holder
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_writes_answer_503_while_reads_go_on(api: ApiServer) -> None:
    name = unique("esc")
    with api.client() as client:
        client.put(f"/v1/escalation-policies/{name}", json={"spec": ESCALATION}).raise_for_status()
        key = {"Idempotency-Key": str(uuid.uuid4())}
        batch = {"events": [alert_event(unique("am"), "g", "a")]}
        with write_lock(api.db_path):
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
    with write_lock(api.db_path):
        refused = httpx.post(url, content=payload, headers=headers)
        problem(refused, 503, "storage-busy")
    assert httpx.post(url, content=payload, headers=headers).status_code == 202


async def test_the_client_retries_until_the_lock_is_gone(api: ApiServer) -> None:
    name = unique("esc")
    holder = sqlite3.connect(api.db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    # The lock is let go from another thread while the client is retrying the 503s.
    timer = threading.Timer(0.8, holder.execute, ("ROLLBACK",))
    timer.start()
    try:
        async with SignalCraftClient(api.url, api.admin_key, max_retries=6) as client:
            result = await client.put("escalation-policies", name, ESCALATION)
    finally:
        timer.join()
        holder.close()
    assert result.created
    assert result.resource.version == 1
