"""Tickets both ways against Jira and ServiceNow stand-ins that follow the vendors' contracts, over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.contract.test_api_resources import problem, unique
from tests.support.api_server import ApiServer
from tests.support.processes import wait_until
from tests.support.ticketing import FakeJira, FakeServiceNow, serving

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


@pytest.fixture(scope="module")
def jira() -> Iterator[FakeJira]:
    with serving(FakeJira()) as fake:
        yield fake


@pytest.fixture(scope="module")
def servicenow() -> Iterator[FakeServiceNow]:
    with serving(FakeServiceNow()) as fake:
        yield fake


def fire(
    admin: httpx.Client, integration: str, group: str, alert: str, severity: str = "critical", status: str = "firing"
) -> str:
    event = {
        "source": "alertmanager",
        "integration": integration,
        "group_key": group,
        "dedup_key": alert,
        "status": status,
        "severity": severity,
        "summary": f"{alert} on fire",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    response = admin.post("/v1/alert-events", json={"events": [event]})
    response.raise_for_status()
    group_id: str = response.json()["alert_groups"][0]
    return group_id


def ticket_of(admin: httpx.Client, group_id: str, integration: str) -> dict[str, Any]:
    ticket: dict[str, Any] = (admin.get(f"/v1/alert-groups/{group_id}").json()["ticket"] or {}).get(integration, {})
    return ticket


def jira_integration(admin: httpx.Client, jira: FakeJira, **settings: Any) -> tuple[str, str]:
    name = unique("jira")
    spec = {"type": "jira", "jira": {"base_url": jira.url, "project_key": "OPS", **settings}}
    credentials = {"email": jira.email, "api_token": jira.api_token, "webhook_secret": "hook-secret"}
    admin.put(f"/v1/integrations/{name}", json={"spec": spec, "credentials": credentials}).raise_for_status()
    return name, admin.get(f"/v1/integrations/{name}/connection").json()["webhook_url"]


def jira_webhook(url: str, key: str, sample: str, secret: str = "hook-secret") -> httpx.Response:
    document = json.loads((PAYLOADS / "jira-webhook" / sample).read_text())
    document["issue"]["key"] = key
    body = json.dumps(document).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return httpx.post(url, content=body, headers={"X-Hub-Signature": signature, "Content-Type": "application/json"})


def test_jira_ticket_once_comment_and_resolve_from_jira(admin: httpx.Client, jira: FakeJira) -> None:
    name, webhook = jira_integration(admin, jira)
    source = unique("am")
    group = fire(admin, source, "g1", "disk-full")
    ticket = wait_until(lambda: ticket_of(admin, group, name).get("key"), timeout=30, what="the Jira ticket")
    created = [fields for fields in jira.created if f"signalcraft-{group}" in fields["labels"]]
    assert len(created) == 1
    assert created[0]["priority"] == {"name": "Highest"}
    assert created[0]["description"]["type"] == "doc"
    assert ticket_of(admin, group, name)["url"].endswith(f"/browse/{ticket}")

    # the "Create ticket" button and the automation both fire again: still one ticket
    for _ in range(2):
        assert admin.post(f"/v1/alert-groups/{group}:create-ticket", json={"integration": name}).status_code == 202
    fire(admin, source, "g1", "disk-slow")
    wait_until(lambda: any(key == ticket for key, _ in jira.comments), timeout=30, what="a comment for the new alert")
    assert len([fields for fields in jira.created if f"signalcraft-{group}" in fields["labels"]]) == 1

    assert (
        jira_webhook(webhook, ticket, "cloud-issue-updated-status-to-done-with-resolution.json").json()["status"]
        == "resolved"
    )
    assert admin.get(f"/v1/alert-groups/{group}").json()["status"] == "resolved"
    assert not any(key == ticket for key, _ in jira.transitions), (
        "a resolve that came from Jira never transitions it back"
    )
    reopened = jira_webhook(webhook, ticket, "cloud-issue-updated-reopened-done-to-todo.json")
    assert reopened.json()["status"] == "unchanged", "re-opening only re-fires when configured"
    assert (
        jira_webhook(webhook, "OPS-9999", "cloud-issue-updated-status-to-done-with-resolution.json").json()["status"]
        == "ignored"
    )
    problem(
        jira_webhook(webhook, ticket, "cloud-issue-updated-status-to-done-with-resolution.json", secret="wrong"),
        401,
        "unauthenticated",
    )


def test_resolving_in_signalcraft_transitions_the_jira_issue(admin: httpx.Client, jira: FakeJira) -> None:
    name, _ = jira_integration(admin, jira)
    group = fire(admin, unique("am"), "g", "cpu")
    ticket = wait_until(lambda: ticket_of(admin, group, name).get("key"), timeout=30, what="the Jira ticket")
    admin.post(f"/v1/alert-groups/{group}:resolve").raise_for_status()
    wait_until(lambda: any(key == ticket for key, _ in jira.transitions), timeout=30, what="the Done transition")
    assert all(body["transition"] == {"id": "31"} for key, body in jira.transitions if key == ticket)


def test_jira_outage_delays_and_rejections_show(admin: httpx.Client, jira: FakeJira) -> None:
    name, _ = jira_integration(admin, jira, auto_create_severity="warning")
    jira.faults.next_requests(429, times=1, retry_after=1)
    jira.faults.next_requests(503, times=1)
    group = fire(admin, unique("am"), "g", "latency", severity="warning")
    wait_until(lambda: ticket_of(admin, group, name).get("key"), timeout=60, what="the ticket after 429 and 503")
    assert admin.get(f"/v1/integrations/{name}").json()["status"]["last_outbound"]["ok"] is True

    info_name, _ = jira_integration(admin, jira, auto_create_severity="info", issue_type="Task")
    jira.faults.next_requests(
        400, times=5, body={"errorMessages": [], "errors": {"issuetype": "valid issue type required"}}
    )
    doomed = fire(admin, unique("am"), "g", "noise", severity="info")
    failure = wait_until(lambda: ticket_of(admin, doomed, info_name).get("last_error"), timeout=30, what="the failure")
    assert "400" in str(failure)
    outbound = admin.get(f"/v1/integrations/{info_name}").json()["status"]["last_outbound"]
    assert outbound["ok"] is False
    assert jira.api_token not in json.dumps(admin.get(f"/v1/integrations/{info_name}").json())
    jira.faults.queue.clear()


def test_servicenow_incident_both_ways(admin: httpx.Client, servicenow: FakeServiceNow) -> None:
    name = unique("snow")
    spec = {"type": "servicenow", "servicenow": {"instance_url": servicenow.url, "assignment_group": "SRE"}}
    credentials = {"username": servicenow.username, "password": servicenow.password}
    admin.put(f"/v1/integrations/{name}", json={"spec": spec, "credentials": credentials}).raise_for_status()
    webhook = admin.get(f"/v1/integrations/{name}/connection").json()["webhook_url"]

    first = fire(admin, unique("am"), "g", "db-down")
    number = wait_until(lambda: ticket_of(admin, first, name).get("key"), timeout=30, what="the incident")
    (incident,) = [record for record in servicenow.incidents.values() if record["correlation_id"] == first]
    assert incident["number"] == number
    assert incident["urgency"] == "1"
    assert incident["assignment_group"] == "SRE"
    admin.post(f"/v1/alert-groups/{first}:create-ticket", json={"integration": name}).raise_for_status()
    admin.post(f"/v1/alert-groups/{first}:resolve").raise_for_status()
    wait_until(lambda: incident["state"] == "6", timeout=30, what="the incident to be resolved")
    assert incident["close_code"]
    assert len([r for r in servicenow.incidents.values() if r["correlation_id"] == first]) == 1, (
        "one incident per group"
    )

    second = fire(admin, unique("am"), "g", "queue-stuck")
    number = wait_until(lambda: ticket_of(admin, second, name).get("key"), timeout=30, what="the second incident")
    updates_before = len(servicenow.updates)
    closed = httpx.post(webhook, json={"number": number, "state": "7", "correlation_id": second})
    assert closed.json()["status"] == "resolved"
    assert admin.get(f"/v1/alert-groups/{second}").json()["status"] == "resolved"
    assert len(servicenow.updates) == updates_before, "a resolve from ServiceNow is not sent back to it"


def test_create_ticket_needs_a_ticketing_integration(admin: httpx.Client, api: ApiServer) -> None:
    group = fire(admin, unique("am"), "g", "x", severity="info")
    problem(admin.post(f"/v1/alert-groups/{group}:create-ticket", json={"integration": "nope"}), 404, "not-found")
    admin.put("/v1/integrations/am-only", json={"spec": {"type": "alertmanager"}}).raise_for_status()
    problem(
        admin.post(f"/v1/alert-groups/{group}:create-ticket", json={"integration": "am-only"}),
        422,
        "not-a-ticket-system",
    )


def _shape(value: Any) -> Any:
    """The JSON structure of a value: object keys and element types, with the values themselves left out."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_jira_create_body_has_the_shapes_of_atlassians_published_example(admin: httpx.Client, jira: FakeJira) -> None:
    """Every field we send is a field of the create-issue example in Atlassian's OpenAPI, shaped the same way
    (references as objects, labels as strings, the description as an ADF document of paragraphs and text nodes)."""
    example = json.loads((PAYLOADS / "jira-rest" / "create-issue-request-v3-adf.json").read_text())["fields"]
    name, _ = jira_integration(admin, jira)
    group = fire(admin, unique("am"), "g", "shape")
    wait_until(lambda: ticket_of(admin, group, name).get("key"), timeout=30, what="the Jira ticket")
    (sent,) = [fields for fields in jira.created if f"signalcraft-{group}" in fields["labels"]]
    assert set(sent) <= set(example), f"fields Atlassian's example does not have: {set(sent) - set(example)}"
    assert _shape(sent["description"]) == _shape(example["description"])
    assert _shape(sent["labels"]) == _shape(example["labels"])
    for reference in ("project", "issuetype", "priority"):
        assert isinstance(sent[reference], dict)
        assert set(sent[reference]) & {"id", "key", "name"}


def test_jira_custom_fields_and_ticket_metrics(admin: httpx.Client, api: ApiServer, jira: FakeJira) -> None:
    # "error" is a severity no other integration of this module creates tickets for
    name, _ = jira_integration(
        admin,
        jira,
        auto_create_severity="error",
        custom_fields={"customfield_10010": "SignalCraft {severity}", "customfield_10020": "{summary}"},
    )
    group = fire(admin, unique("am"), "g", "custom", severity="error")
    wait_until(lambda: ticket_of(admin, group, name).get("key"), timeout=30, what="the Jira ticket")
    (sent,) = [fields for fields in jira.created if f"signalcraft-{group}" in fields["labels"]]
    assert sent["customfield_10010"] == "SignalCraft error"
    assert sent["customfield_10020"] == "custom on fire"
    metrics = httpx.get(f"{api.url}/metrics").text
    assert f'signalcraft_api_tickets_created_total{{integration="{name}"}} 1.0' in metrics
    bad = {"type": "jira", "jira": {"base_url": jira.url, "project_key": "OPS", "custom_fields": {"summary": "x"}}}
    problem(admin.put(f"/v1/integrations/{unique('jira')}", json={"spec": bad}), 422, "validation-failed")


def test_moving_a_ticket_system_needs_its_credentials_again(admin: httpx.Client, jira: FakeJira) -> None:
    """Stored secrets go only to the host they were given for: a new base_url or instance_url without credentials is
    refused, and nothing is sent to the new host."""
    with serving(FakeJira(email="other@example.com", api_token="other-token")) as elsewhere:
        name, _ = jira_integration(admin, jira, auto_create_severity=None, project_key="MOVE")
        stored = admin.get(f"/v1/integrations/{name}").json()
        moved = {**stored["spec"], "jira": {**stored["spec"]["jira"], "base_url": elsewhere.url}}
        body = problem(admin.put(f"/v1/integrations/{name}", json={"spec": moved}), 422, "credentials-required")
        assert body["errors"][0]["pointer"] == "/credentials"
        assert "base_url" in body["detail"]
        problem(
            admin.put(f"/v1/integrations/{name}", json={"spec": moved}, params={"dry_run": "true"}),
            422,
            "credentials-required",
        )
        assert admin.get(f"/v1/integrations/{name}").json()["version"] == stored["version"], "nothing changed"
        # another setting alone keeps the stored credentials
        renamed = {**stored["spec"], "jira": {**stored["spec"]["jira"], "project_key": "SRE"}}
        assert admin.put(f"/v1/integrations/{name}", json={"spec": renamed}).status_code == 200
        # moving with the new host's credentials is fine, and they are what goes there
        credentials = {"email": elsewhere.email, "api_token": elsewhere.api_token}
        assert (
            admin.put(f"/v1/integrations/{name}", json={"spec": moved, "credentials": credentials}).status_code == 200
        )
        group = fire(admin, unique("am"), "g", "moved", severity="info")
        admin.post(f"/v1/alert-groups/{group}:create-ticket", json={"integration": name}).raise_for_status()
        wait_until(lambda: ticket_of(admin, group, name).get("key"), timeout=30, what="the ticket on the new host")
        assert [fields for fields in elsewhere.created if f"signalcraft-{group}" in fields["labels"]]
        assert not [fields for fields in jira.created if fields["project"] == {"key": "MOVE"}], "the old host saw none"


def test_moving_a_servicenow_instance_needs_its_credentials_again(admin: httpx.Client) -> None:
    name = unique("snow")
    spec = {"type": "servicenow", "servicenow": {"instance_url": "https://acme.service-now.com"}}
    credentials = {"username": "bot", "password": "sn-secret"}
    admin.put(f"/v1/integrations/{name}", json={"spec": spec, "credentials": credentials}).raise_for_status()
    moved = {"type": "servicenow", "servicenow": {"instance_url": "https://evil.example.com"}}
    body = problem(admin.put(f"/v1/integrations/{name}", json={"spec": moved}), 422, "credentials-required")
    assert "instance_url" in body["detail"]
    same = {"type": "servicenow", "servicenow": {"instance_url": "https://acme.service-now.com/"}}
    assert admin.put(f"/v1/integrations/{name}", json={"spec": same}).status_code == 200, "a trailing / is no move"


def test_a_servicenow_integration_resolves_only_groups_it_has_tickets_for(
    admin: httpx.Client, servicenow: FakeServiceNow
) -> None:
    """An incident's correlation_id names an alert group; only the integration that holds (or is creating) that
    group's ticket may resolve it that way, never another ServiceNow integration, nor one for a ticketless group."""
    owner = unique("snow")
    spec = {"type": "servicenow", "servicenow": {"instance_url": servicenow.url, "auto_create_severity": None}}
    credentials = {"username": servicenow.username, "password": servicenow.password}
    admin.put(f"/v1/integrations/{owner}", json={"spec": spec, "credentials": credentials}).raise_for_status()
    stranger = unique("snow")
    admin.put(f"/v1/integrations/{stranger}", json={"spec": spec, "credentials": credentials}).raise_for_status()
    stranger_hook = admin.get(f"/v1/integrations/{stranger}/connection").json()["webhook_url"]
    owner_hook = admin.get(f"/v1/integrations/{owner}/connection").json()["webhook_url"]

    ticketless = fire(admin, unique("am"), "g", "untouchable", severity="info")
    closed = {"number": "INC0099999", "state": "7", "correlation_id": ticketless}
    for hook in (stranger_hook, owner_hook):
        assert httpx.post(hook, json=closed).json()["status"] == "ignored"
    assert admin.get(f"/v1/alert-groups/{ticketless}").json()["status"] == "firing"

    group = fire(admin, unique("am"), "g", "owned", severity="info")
    admin.post(f"/v1/alert-groups/{group}:create-ticket", json={"integration": owner}).raise_for_status()
    number = wait_until(lambda: ticket_of(admin, group, owner).get("key"), timeout=30, what="the incident")
    by_stranger = {"number": number, "state": "7", "correlation_id": group}
    assert httpx.post(stranger_hook, json=by_stranger).json()["status"] == "ignored"
    assert admin.get(f"/v1/alert-groups/{group}").json()["status"] == "firing"
    assert httpx.post(owner_hook, json=by_stranger).json()["status"] == "resolved"
