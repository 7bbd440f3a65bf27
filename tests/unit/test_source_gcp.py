"""Google Cloud Monitoring incidents (schema 1.2): open/closed by incident_id, token or Basic auth."""

from __future__ import annotations

import base64

import pytest
from tests.support.payloads import json_request, parse_payload

from signalcraft.api.alerts import AlertStatus
from signalcraft.api.specs import Severity
from signalcraft.ingest.errors import AuthenticationError, PayloadError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.registry import get_strategy


def test_open_incident_with_ended_at_null() -> None:
    (opened,) = parse_payload("gcp-monitoring", "gcp-monitoring/canary-checker-open-pubsub-v1.2-ended-at-null.json")
    assert opened.status is AlertStatus.FIRING
    assert opened.severity is Severity.ERROR, '"Error" is capitalised in the payload'
    assert opened.dedup_key == opened.group_key == "0.nrwotmyokd9n"
    assert opened.labels["policy"] == "Test-incident-canary"
    assert opened.labels["resource_zone"] == "europe-west1-b"
    assert "channelType=cloud-pubsub" in opened.links[0].href


@pytest.mark.parametrize(
    ("name", "incident", "ended"),
    [
        ("google-forwarding-sample-closed-v1.2", "0.m2d61b3s6d5d", 1621359336),
        ("cloudforet-closed-v1.2", "0.mteuirnn0v0k", 1675398434),
    ],
)
def test_closed_incidents_resolve_at_ended_at(name: str, incident: str, ended: int) -> None:
    (closed,) = parse_payload("gcp-monitoring", f"gcp-monitoring/{name}.json")
    assert closed.status is AlertStatus.RESOLVED
    assert closed.dedup_key == incident
    assert closed.occurred_at.timestamp() == ended
    assert "returned to normal" in closed.summary


def test_test_connection_payload_and_uppercase_state() -> None:
    strategy = get_strategy("gcp-monitoring")
    test = {"version": "test", "incident": {"incident_id": "12345", "state": "OPEN", "documentation": "text"}}
    assert strategy.parse(json_request(test)) == []
    upper = {"version": "1.2", "incident": {"incident_id": "i-1", "state": "OPEN", "started_at": 1700000000}}
    assert strategy.parse(json_request(upper))[0].status is AlertStatus.FIRING
    with pytest.raises(PayloadError, match="incident_id"):
        strategy.parse(json_request({"version": "1.2", "incident": {}}))
    with pytest.raises(PayloadError, match="state"):
        strategy.parse(json_request({"version": "1.2", "incident": {"incident_id": "i", "state": "snoozed"}}))


def test_auth_token_in_the_url_or_basic() -> None:
    strategy = get_strategy("gcp-monitoring")
    token = IntegrationCredentials(token="g-token")
    strategy.authenticate(InboundRequest({}, b"{}", {"auth_token": "g-token"}), token)
    with pytest.raises(AuthenticationError):
        strategy.authenticate(InboundRequest({}, b"{}", {"auth_token": "nope"}), token)
    basic = IntegrationCredentials(basic_username="gcp", basic_password="pw")
    header = "Basic " + base64.b64encode(b"gcp:pw").decode()
    strategy.authenticate(InboundRequest({"authorization": header}, b"{}"), basic)
    with pytest.raises(AuthenticationError):
        strategy.authenticate(InboundRequest({}, b"{}"), basic)
