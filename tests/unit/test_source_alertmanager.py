"""Alertmanager webhook_config bodies (v4 and v3) against the authentic payloads."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from tests.support.alertmanager_schema import webhook_body
from tests.support.payloads import json_request, parse_payload, payload_request

from signalcraft.api.alerts import AlertStatus
from signalcraft.api.specs import Severity
from signalcraft.ingest.errors import PayloadError
from signalcraft.ingest.sources.alertmanager import derived_group_key
from signalcraft.ingest.sources.base import InboundRequest
from signalcraft.ingest.sources.registry import get_strategy


def test_fire_then_resolve_share_group_and_computed_fingerprint() -> None:
    (fired,) = parse_payload("alertmanager", "alertmanager/alertmanager-bot-firing-v4-nonzero-endsat.json")
    (resolved,) = parse_payload("alertmanager", "alertmanager/alertmanager-bot-resolved-v4.json")
    assert fired.status is AlertStatus.FIRING, "a firing alert with a real endsAt is still firing"
    assert resolved.status is AlertStatus.RESOLVED
    assert fired.group_key == resolved.group_key == '{}:{alertname="Fire"}'
    assert fired.dedup_key == resolved.dedup_key, "without a fingerprint the label set decides"
    assert len(fired.dedup_key) == 16
    assert fired.severity is Severity.CRITICAL
    assert fired.summary == "Something is on fire"
    assert fired.integration == "team-a"
    assert fired.source == "alertmanager"
    assert fired.occurred_at.isoformat() == "2018-11-04T22:43:58.283995+01:00", "startsAt, nanoseconds cut"
    assert resolved.occurred_at > fired.occurred_at, "a resolved alert happened at its endsAt"
    assert fired.links[0].href == "http://localhost:9090/graph?g0.expr=vector%28666%29&g0.tab=1"


def test_two_alerts_one_group_and_unknown_keys_tolerated() -> None:
    events = parse_payload("alertmanager", "alertmanager/oncall-example-two-alerts-firing-with-numfiring.json")
    assert [event.dedup_key for event in events] == ["f404ecabc8dd5cd7", "f8f08d4e32c61a9d"]
    assert {event.group_key for event in events} == {'{}:{alertname="InstanceDown"}'}
    assert events[0].raw is not None
    assert events[1].raw is None, "the raw payload is kept once per delivery"
    assert all(event.links == [] for event in events), "an empty generatorURL is no link"


def test_fingerprint_from_labels_ignores_label_order_but_not_values() -> None:
    def dedup(labels: dict[str, str]) -> str:
        body = {"version": "4", "groupKey": "g", "alerts": [{"status": "firing", "labels": labels}]}
        return get_strategy("alertmanager").parse(json_request(body))[0].dedup_key

    assert dedup({"a": "1", "b": "2"}) == dedup({"b": "2", "a": "1"})
    assert dedup({"a": "1", "b": "2"}) != dedup({"a": "1", "b": "3"})


def test_version_3_mixed_statuses_and_newer_keys() -> None:
    body = {
        "version": "3",
        "groupKey": '{}/{team="db"}:{alertname="Lag"}',
        "status": "firing",
        "notification_reason": "some alerts resolved",
        "routeLabels": {"team": "db"},
        "externalURL": "http://am:9093",
        "commonLabels": {"severity": "warning"},
        "alerts": [
            {"status": "firing", "labels": {"alertname": "Lag", "instance": "a"}, "fingerprint": "0000000000000001"},
            {
                "status": "resolved",
                "labels": {"alertname": "Lag", "instance": "b"},
                "fingerprint": "0000000000000002",
                "endsAt": "2026-11-23T10:00:00.123456789-05:00",
            },
        ],
    }
    firing, resolved = get_strategy("alertmanager").parse(json_request(body))
    assert (firing.status, resolved.status) == (AlertStatus.FIRING, AlertStatus.RESOLVED), "status is per alert"
    assert firing.severity is Severity.WARNING, "the group's common severity applies"
    assert resolved.occurred_at.isoformat() == "2026-11-23T10:00:00.123456-05:00"


def test_truncation_is_recorded() -> None:
    body = {"version": "4", "groupKey": "g", "truncatedAlerts": 3, "alerts": [{"status": "firing", "labels": {}}]}
    (parsed,) = get_strategy("alertmanager").parse(json_request(body))
    assert parsed.truncated_alerts == 3


def test_other_shapes_are_refused_with_a_reason() -> None:
    strategy = get_strategy("alertmanager")
    with pytest.raises(PayloadError, match="unsupported Alertmanager webhook version"):
        strategy.parse(payload_request("grafana/unified-docs-two-alerts-firing.json"))
    with pytest.raises(PayloadError, match="not JSON"):
        strategy.parse(InboundRequest({}, b"<html>"))
    with pytest.raises(PayloadError, match="JSON object"):
        strategy.parse(InboundRequest({}, b"[]"))
    with pytest.raises(PayloadError, match="alerts must be a list"):
        strategy.parse(json_request({"version": "4", "groupKey": "g"}))
    with pytest.raises(PayloadError, match=r"alerts\[0\]\.status"):
        strategy.parse(json_request({"version": "4", "groupKey": "g", "alerts": [{"status": "exploded"}]}))
    with pytest.raises(PayloadError, match=r"alerts\[0\]\.status"):
        strategy.parse(json_request({"version": "4", "alerts": [{"labels": {}}]}))  # no status anywhere


def test_version_3_without_group_key_groups_by_receiver_and_group_labels() -> None:
    def key(receiver: str, group_labels: dict[str, str], alertname: str = "Lag") -> str:
        body = {
            "version": "3",
            "status": "firing",
            "receiver": receiver,
            "groupLabels": group_labels,
            "alerts": [{"labels": {"alertname": alertname}, "startsAt": "2026-11-23T10:00:00Z"}],
        }
        (parsed,) = get_strategy("alertmanager").parse(json_request(body))
        assert parsed.status is AlertStatus.FIRING, "an alert without status inherits the body's"
        assert parsed.links == [], "no generatorURL, no link"
        assert parsed.truncated_alerts == 0
        return parsed.group_key

    assert key("team-db", {"alertname": "Lag"}) == 'team-db:{alertname="Lag"}'
    assert key("team-db", {"alertname": "Lag"}, alertname="Other") == key("team-db", {"alertname": "Lag"})
    assert key("team-db", {"alertname": "Lag"}) != key("team-web", {"alertname": "Lag"})
    assert key("team-db", {"alertname": "Lag"}) != key("team-db", {"alertname": "Lag2"})
    assert key("r", {"a": "1", "b": "2"}) == key("r", {"b": "2", "a": "1"})


def without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


@settings(max_examples=150, deadline=None)
@given(webhook_body())
def test_every_documented_shape_parses(body: dict[str, Any]) -> None:
    events = get_strategy("alertmanager").parse(json_request(body))
    assert len(events) == len(body["alerts"])
    assert len({event.group_key for event in events}) == 1, "one body is one group"
    stored = without_nul(body)  # NUL is stored as U+FFFD (PostgreSQL's text holds none)
    expected_key = stored.get("groupKey") or derived_group_key(stored)
    assert events[0].group_key == expected_key[:1024]
    for alert, parsed in zip(body["alerts"], events, strict=True):
        assert parsed.status.value == alert.get("status", body["status"])
        assert parsed.dedup_key
        assert parsed.truncated_alerts == min(body.get("truncatedAlerts", 0), 1_000_000)
