"""Alertmanager webhook_config bodies (v4 and v3) against the authentic payloads."""

from __future__ import annotations

import pytest
from tests.support.payloads import json_request, parse_payload, payload_request

from signalcraft.ingest.errors import PayloadError
from signalcraft.ingest.model import AlertStatus, Severity
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
    with pytest.raises(PayloadError, match="groupKey"):
        strategy.parse(json_request({"version": "4", "alerts": []}))
    with pytest.raises(PayloadError, match=r"alerts\[0\]\.status"):
        strategy.parse(json_request({"version": "4", "groupKey": "g", "alerts": [{"status": "exploded"}]}))
