"""The ticket worker under trouble, over real HTTP against the Jira and ServiceNow stand-ins: a reply nobody foresaw
(a sleeping instance's HTML page with 200, a 201 without the issue key) delays that one ticket while the others go on;
a create that failed can be asked for again; comments on one group are coalesced; and /healthz fails while the worker
is dead. Each test has a server and stand-ins of its own, so one test's faults never meet another test's jobs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tests.contract.helpers import unique
from tests.support.api_server import ApiServer, running_api_server
from tests.support.processes import wait_until
from tests.support.ticketing import HIBERNATING, FakeJira, FakeServiceNow, serving


@dataclass
class Setup:
    api: ApiServer
    admin: httpx.Client
    integration: str

    def fire(self, group: str, alert: str, severity: str = "critical") -> str:
        event = {
            "source": "alertmanager",
            "integration": "am",
            "group_key": group,
            "dedup_key": alert,
            "status": "firing",
            "severity": severity,
            "summary": f"{alert} on fire",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        response = self.admin.post("/v1/alert-events", json={"events": [event]})
        response.raise_for_status()
        group_id: str = response.json()["alert_groups"][0]
        return group_id

    def ticket(self, group_id: str) -> dict[str, Any]:
        group = self.admin.get(f"/v1/alert-groups/{group_id}").json()
        ticket: dict[str, Any] = (group["ticket"] or {}).get(self.integration, {})
        return ticket

    def jobs(self, group_id: str) -> list[tuple[str, str]]:
        """(action, state) of the group's ticket jobs, read from the server's database (group ids are ours: safe)."""
        rows = self.api.query(f"SELECT action, state FROM ticket_jobs WHERE group_id = '{group_id}'")
        return [(str(action), str(state)) for action, state in rows]


@contextmanager
def jira_setup(tmp_path: Path, database: str | None, *args: str) -> Iterator[tuple[Setup, FakeJira]]:
    with (
        serving(FakeJira()) as jira,
        running_api_server(tmp_path, list(args), database_url=database) as api,
        api.client() as admin,
    ):
        name = unique("jira")
        spec = {"type": "jira", "jira": {"base_url": jira.url, "project_key": "OPS"}}
        credentials = {"email": jira.email, "api_token": jira.api_token}
        admin.put(f"/v1/integrations/{name}", json={"spec": spec, "credentials": credentials}).raise_for_status()
        yield Setup(api, admin, name), jira


@contextmanager
def servicenow_setup(tmp_path: Path, database: str | None) -> Iterator[tuple[Setup, FakeServiceNow]]:
    with (
        serving(FakeServiceNow()) as snow,
        running_api_server(tmp_path, database_url=database) as api,
        api.client() as admin,
    ):
        name = unique("snow")
        spec = {"type": "servicenow", "servicenow": {"instance_url": snow.url}}
        credentials = {"username": snow.username, "password": snow.password}
        admin.put(f"/v1/integrations/{name}", json={"spec": spec, "credentials": credentials}).raise_for_status()
        yield Setup(api, admin, name), snow


def test_a_hibernating_servicenow_delays_that_ticket_and_the_rest_go_on(
    tmp_path: Path, new_database: Callable[[], str | None]
) -> None:
    with servicenow_setup(tmp_path, new_database()) as (setup, snow):
        snow.faults.next_requests(200, body=HIBERNATING)
        sleeping = setup.fire("g-1", "db-down")
        error = wait_until(lambda: setup.ticket(sleeping).get("last_error"), timeout=30, what="the transient error")
        assert isinstance(error, str)
        assert "<html" not in error.lower(), "a page is no reason worth storing"
        assert setup.jobs(sleeping) == [("create", "pending")], "transient: the job waits for its next attempt"
        awake = setup.fire("g-2", "queue-stuck")
        wait_until(lambda: setup.ticket(awake).get("key"), timeout=30, what="the next group's incident")
        wait_until(lambda: setup.ticket(sleeping).get("key"), timeout=30, what="the delayed incident")
        assert setup.ticket(sleeping)["last_error"] is None
        for group in (sleeping, awake):
            assert len([r for r in snow.incidents.values() if r["correlation_id"] == group]) == 1


def test_an_unforeseen_reply_backs_that_job_off_and_the_worker_goes_on(
    tmp_path: Path, new_database: Callable[[], str | None]
) -> None:
    with jira_setup(tmp_path, new_database()) as (setup, jira):
        # 201 Created without the issue's key: nothing in the vendor's contract, so nothing we could have caught
        jira.faults.next_requests(201, body={"id": "10001"}, path_contains="/rest/api/3/issue")
        odd = setup.fire("g-1", "disk-full")
        wait_until(lambda: setup.ticket(odd).get("last_error"), timeout=30, what="the failure to be recorded")
        other = setup.fire("g-2", "cpu-high")
        wait_until(lambda: setup.ticket(other).get("key"), timeout=30, what="the next group's issue")
        wait_until(lambda: setup.ticket(odd).get("key"), timeout=30, what="the retried issue")
        assert httpx.get(f"{setup.api.url}/healthz", timeout=5).status_code == 200


def test_a_failed_create_can_be_asked_for_again(tmp_path: Path, new_database: Callable[[], str | None]) -> None:
    with jira_setup(tmp_path, new_database()) as (setup, jira):
        refusal = {"errorMessages": [], "errors": {"issuetype": "Specify a valid issue type"}}
        jira.faults.next_requests(400, body=refusal, path_contains="/rest/api/3/issue")
        group = setup.fire("g", "disk-full")
        wait_until(lambda: setup.jobs(group) == [("create", "failed")], timeout=30, what="the create to fail")
        assert "400" in setup.ticket(group)["last_error"]
        asked = setup.admin.post(f"/v1/alert-groups/{group}:create-ticket", json={"integration": setup.integration})
        assert asked.status_code == 202
        key = wait_until(lambda: setup.ticket(group).get("key"), timeout=30, what="the issue asked for again")
        assert setup.ticket(group)["last_error"] is None
        assert [issue_key for issue_key in jira.issues] == [key]


def test_comments_on_one_group_are_coalesced(tmp_path: Path, new_database: Callable[[], str | None]) -> None:
    with jira_setup(tmp_path, new_database()) as (setup, jira):
        group = setup.fire("g", "alert-0")
        key = wait_until(lambda: setup.ticket(group).get("key"), timeout=30, what="the issue")
        # the first comment meets a 503 and waits five seconds; the alerts that arrive meanwhile share its job
        jira.faults.next_requests(503, retry_after=5, path_contains="/comment")
        setup.fire("g", "alert-1")
        wait_until(lambda: setup.ticket(group).get("last_error"), timeout=30, what="the comment to be postponed")
        for number in range(2, 6):
            setup.fire("g", f"alert-{number}")
        assert setup.jobs(group) == [("comment", "pending")], "one pending comment job for the group"
        wait_until(lambda: setup.jobs(group) == [], timeout=30, what="the comment to be posted")
        comments = [json.dumps(body) for issue, body in jira.comments if issue == key]
        assert len(comments) == 1, comments
        assert "6 alerts" in comments[0], "the comment tells the group as it is when it is posted"


def test_healthz_fails_while_the_ticket_worker_is_dead(tmp_path: Path, new_database: Callable[[], str | None]) -> None:
    with jira_setup(tmp_path, new_database(), "--stall-seconds", "1") as (setup, _):
        health = f"{setup.api.url}/healthz"
        assert httpx.get(health, timeout=5).status_code == 200
        setup.api.query("ALTER TABLE ticket_jobs RENAME TO ticket_jobs_away")  # taken away under the worker
        try:
            failing = wait_until(lambda: httpx.get(health, timeout=5).status_code == 503, timeout=30, what="503")
            assert failing
            detail = httpx.get(health, timeout=5).json()["detail"]
            assert "ticket-worker" in detail, detail
        finally:
            setup.api.query("ALTER TABLE ticket_jobs_away RENAME TO ticket_jobs")
        wait_until(lambda: httpx.get(health, timeout=5).status_code == 200, timeout=30, what="recovery")
        restarts = httpx.get(f"{setup.api.url}/metrics", timeout=5).text
        assert 'signalcraft_api_task_restarts_total{task="ticket-worker"}' in restarts
        group = setup.fire("g", "after-recovery")
        wait_until(lambda: setup.ticket(group).get("key"), timeout=30, what="tickets again after recovery")


def test_a_refusal_is_kept_short_and_without_what_was_sent(
    tmp_path: Path, new_database: Callable[[], str | None]
) -> None:
    """A vendor (or a proxy before it) may echo the request in its error body, Authorization header included: what
    the server keeps in last_error, in the integration's status and in its log is short and names no secret."""
    with jira_setup(tmp_path, new_database()) as (setup, jira):
        basic = base64.b64encode(f"{jira.email}:{jira.api_token}".encode()).decode()
        echo = {
            "errorMessages": [f"Bad request. Headers: Authorization: Basic {basic}; Token {jira.api_token}"],
            "errors": {"summary": "x" * 5000},
            "request": {"headers": {"Authorization": f"Basic {basic}", "Accept": "application/json"}},
        }
        jira.faults.next_requests(400, body=echo, path_contains="/rest/api/3/issue")
        group = setup.fire("g", "disk-full")
        wait_until(lambda: setup.jobs(group) == [("create", "failed")], timeout=30, what="the create to fail")
        ((job_error,),) = setup.api.query(f"SELECT last_error FROM ticket_jobs WHERE group_id = '{group}'")
        status = setup.admin.get(f"/v1/integrations/{setup.integration}").json()["status"]
        kept = {
            "the group's ticket": setup.ticket(group)["last_error"],
            "the job": job_error,
            "the integration's status": status["last_outbound"]["error"],
        }
        assert setup.api.program is not None
        log = setup.api.program.log()
    for where, text in kept.items():
        assert "400" in text, (where, text)
        assert len(text) <= 300, (where, len(text))
        for secret in (basic, jira.api_token):
            assert secret not in text, (where, text)
    assert basic not in log
    assert jira.api_token not in log
