"""Inbound Jira and ServiceNow updates: done/resolved/closed resolves the linked alert group; reopen never does."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from tests.support.payloads import PAYLOADS, json_request, parse_payload

from signalcraft.api.alerts import AlertStatus
from signalcraft.ingest.errors import AuthenticationError, PayloadError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.registry import TICKET_SOURCE_NAMES, get_strategy


def test_jira_issue_moved_to_done_resolves() -> None:
    (done,) = parse_payload("jira", "jira-webhook/cloud-issue-updated-status-to-done-with-resolution.json")
    assert done.status is AlertStatus.RESOLVED
    assert done.dedup_key == done.group_key == "TES-41"
    assert done.labels["ticket_system"] == "jira"
    assert done.labels["ticket_key"] == "TES-41"
    assert done.labels["ticket_status"] == "Done"
    assert done.summary == "Unit test summary 1"


def test_jira_reopen_is_not_a_resolve() -> None:
    (reopened,) = parse_payload("jira", "jira-webhook/cloud-issue-updated-reopened-done-to-todo.json")
    assert reopened.status is AlertStatus.FIRING
    assert reopened.occurred_at.timestamp() == 1550287026.531, "the webhook's timestamp (ms)"


def test_jira_trimmed_body_says_nothing_and_a_non_issue_is_refused() -> None:
    strategy = get_strategy("jira")
    trimmed = {"issue": {"key": "OPS-1"}, "changelog": {"items": [{"field": "status", "toString": "Done"}]}}
    assert strategy.parse(json_request(trimmed)) == [], "the changelog alone is only a hint"
    with pytest.raises(PayloadError, match=r"issue\.key"):
        strategy.parse(json_request({"webhookEvent": "jira:issue_updated"}))


def test_jira_x_hub_signature() -> None:
    body = (PAYLOADS / "jira-webhook/cloud-issue-updated-status-to-done-with-resolution.json").read_bytes()
    credentials = IntegrationCredentials(hmac_secret="jira-secret")
    signature = "sha256=" + hmac.new(b"jira-secret", body, hashlib.sha256).hexdigest()
    strategy = get_strategy("jira")
    strategy.authenticate(InboundRequest({"x-hub-signature": signature}, body), credentials)
    with pytest.raises(AuthenticationError):
        strategy.authenticate(InboundRequest({"x-hub-signature": signature}, body[:-2]), credentials)
    with pytest.raises(AuthenticationError):
        strategy.authenticate(InboundRequest({}, body), credentials)


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("6", AlertStatus.RESOLVED),
        ("7", AlertStatus.RESOLVED),
        ("Resolved", AlertStatus.RESOLVED),
        ("Closed", AlertStatus.RESOLVED),
        ("2", AlertStatus.FIRING),
        ("In Progress", AlertStatus.FIRING),
    ],
)
def test_servicenow_incident_states(state: str, status: AlertStatus) -> None:
    record = {
        "number": "INC0010001",
        "state": state,
        "sys_id": "a" * 32,
        "short_description": "db down",
        "correlation_id": "grp_123",
        "sys_updated_on": "2026-11-23 09:00:00",
    }
    for body in (record, {"result": record}):
        (parsed,) = get_strategy("servicenow").parse(json_request(body))
        assert parsed.status is status
        assert parsed.dedup_key == "INC0010001"
        assert parsed.labels["correlation_id"] == "grp_123"
        assert parsed.occurred_at.isoformat() == "2026-11-23T09:00:00+00:00"


def test_servicenow_without_state_or_number() -> None:
    strategy = get_strategy("servicenow")
    assert strategy.parse(json_request({"number": "INC1"})) == []
    with pytest.raises(PayloadError, match="number"):
        strategy.parse(json_request({"state": "6"}))


def test_ticket_sources_are_registered() -> None:
    assert {get_strategy(name).name for name in TICKET_SOURCE_NAMES} == {"jira", "servicenow"}
