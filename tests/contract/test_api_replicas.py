"""Two API server processes on one PostgreSQL database behave as one server: concurrent creates of one name make one
object, an Idempotency-Key in flight on one process answers 409 on the other, and every ticket job is delivered by
exactly one of the two ticket workers. (Rate limits are per process: docs/api.md.)"""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tests.contract.conftest import ENGINES
from tests.contract.helpers import ESCALATION, alert_event, problem, unique
from tests.support.api_server import ApiServer, bootstrap, seed_directory
from tests.support.postgres import BIN, PostgresCluster
from tests.support.processes import free_port, wait_until
from tests.support.ticketing import FakeJira, serving

pytestmark = pytest.mark.skipif("postgresql" not in ENGINES, reason="SIGNALCRAFT_TEST_ENGINES leaves PostgreSQL out")


@pytest.fixture(scope="module")
def replicas(postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ApiServer]]:
    url = postgres.create_database("replicas")
    key = bootstrap(Path("unused.db"), url)
    servers: list[ApiServer] = []
    try:
        for index in range(2):
            workdir = tmp_path_factory.mktemp(f"replica{index}")
            args = ["--busy-timeout", "10"]
            servers.append(ApiServer(workdir / "unused.db", free_port(), key, workdir, args, database_url=url).start())
        seed_directory(servers[0])
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_concurrent_creates_of_one_name_make_one_object(replicas: list[ApiServer]) -> None:
    name = unique("esc")
    clients = [server.client() for server in replicas]

    def create(index: int) -> httpx.Response:
        client = clients[index % 2]
        headers = {"If-None-Match": "*"} if index % 4 < 2 else {}
        return client.put(f"/v1/escalation-policies/{name}", json={"spec": ESCALATION}, headers=headers)

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(create, range(32)))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses.count(201) == 1, statuses
        assert set(statuses) <= {200, 201, 412}, statuses
        ids = {client.get(f"/v1/escalation-policies/{name}").json()["id"] for client in clients}
        assert len(ids) == 1, "both processes see the same one object"
        assert {answer.json()["id"] for answer in answers if answer.status_code in {200, 201}} == ids
        assert all(client.get(f"/v1/escalation-policies/{name}").json()["version"] == 1 for client in clients)
    finally:
        for client in clients:
            client.close()


class RowLock:
    """A PostgreSQL session holding a row lock on one resource (as a slow writer would), from outside the servers."""

    def __init__(self, url: str, collection: str, name: str) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "psql"), "-X", "-At", "-d", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(
            f"BEGIN; SELECT 'locked' FROM resources WHERE collection = '{collection}' AND name = '{name}' FOR UPDATE;\n"
        )
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "BEGIN"
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("ROLLBACK;\n\\q\n")
        self.process.stdin.close()
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def test_an_idempotency_key_in_flight_on_one_process_answers_409_on_the_other(replicas: list[ApiServer]) -> None:
    first, second = replicas
    assert first.database_url is not None
    integration = unique("am")
    with first.client() as admin:
        admin.put(f"/v1/integrations/{integration}", json={"spec": {"type": "alertmanager"}}).raise_for_status()
    batch = {"events": [alert_event(integration, "g", "a")]}
    key = str(uuid.uuid4())
    # The first request takes the key, then waits on the integration's row (its ingest records the event there).
    lock = RowLock(first.database_url, "integrations", integration)
    answers: dict[str, httpx.Response] = {}

    def send_first() -> None:
        with first.client() as client:
            answers["first"] = client.post("/v1/alert-events", json=batch, headers={"Idempotency-Key": key}, timeout=30)

    sender = threading.Thread(target=send_first)
    sender.start()
    try:
        wait_until(
            lambda: first.query(f"SELECT state FROM idempotency WHERE key = '{key}'") == [("in-flight",)],
            timeout=10,
            what="the first request to take the key",
        )
        with second.client() as client:
            in_flight = client.post("/v1/alert-events", json=batch, headers={"Idempotency-Key": key})
        body = problem(in_flight, 409, "idempotency-key-in-flight")
        assert in_flight.headers["retry-after"] == "1", body
    finally:
        lock.release()
        sender.join(30)
    assert answers["first"].status_code == 202, answers["first"].text
    with second.client() as client:
        replay = client.post("/v1/alert-events", json=batch, headers={"Idempotency-Key": key})
    assert replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == answers["first"].json()


class LaggingSearchJira(FakeJira):
    """A Jira whose search index lags behind its writes (Jira Cloud's does): finding the group's issue before creating
    it cannot hide a job that ran twice, so every duplicate claim would show as a second issue."""

    async def search(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        return JSONResponse({"issues": [], "isLast": True})


def test_each_ticket_job_is_delivered_by_exactly_one_worker(replicas: list[ApiServer]) -> None:
    groups = 40
    with serving(LaggingSearchJira()) as jira, replicas[0].client() as admin:
        name = unique("jira")
        spec = {
            "type": "jira",
            "jira": {"base_url": jira.url, "project_key": "OPS", "auto_create_severity": "critical"},
        }
        credentials = {"email": jira.email, "api_token": jira.api_token}
        admin.put(f"/v1/integrations/{name}", json={"spec": spec, "credentials": credentials}).raise_for_status()
        source = unique("am")
        events: list[dict[str, Any]] = [
            alert_event(source, f"g{index}", "a", severity="critical") for index in range(groups)
        ]
        accepted = admin.post("/v1/alert-events", json={"events": events})
        assert accepted.status_code == 202, accepted.text
        group_ids = accepted.json()["alert_groups"]
        assert len(group_ids) == groups

        def all_ticketed() -> bool:
            items = [admin.get(f"/v1/alert-groups/{group_id}").json() for group_id in group_ids]
            return all((item["ticket"] or {}).get(name, {}).get("key") for item in items)

        wait_until(all_ticketed, timeout=60, interval=0.3, what="a ticket for every group")
        pending = replicas[0].query("SELECT count(*) FROM ticket_jobs")
        labels = [label for issue in jira.created for label in issue["labels"] if label != "signalcraft"]
    assert pending == [(0,)], "every job is done"
    assert len(labels) == groups, f"{len(labels)} issues for {groups} groups: some job ran twice"
    assert sorted(labels) == sorted(f"signalcraft-{group_id}" for group_id in group_ids)
    created = [_created_tickets(server) for server in replicas]
    assert sum(created) == groups, created


def _created_tickets(server: ApiServer) -> int:
    text = httpx.get(f"{server.url}/metrics").text
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("signalcraft_api_tickets_created_total")
        )
    )
