"""Source strategies against the authentic payloads in tests/fixtures/payloads (provenance in its SOURCES.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signalcraft.ingest.errors import AuthenticationError, IngestError, PayloadError
from signalcraft.ingest.model import AlertStatus, Severity
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.registry import SOURCE_NAMES, get_strategy

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


def request(path: str, headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> InboundRequest:
    return InboundRequest(headers or {}, (PAYLOADS / path).read_bytes(), query or {})


def parse(source: str, path: str) -> list[Any]:
    return get_strategy(source).parse(request(path), "team-a")


def test_alertmanager_fire_then_resolve_share_group_and_fingerprint() -> None:
    (fired,) = parse("alertmanager", "alertmanager/alertmanager-bot-firing-v4-nonzero-endsat.json")
    (resolved,) = parse("alertmanager", "alertmanager/alertmanager-bot-resolved-v4.json")
    assert fired.status is AlertStatus.FIRING, "a firing alert with a real endsAt is still firing"
    assert resolved.status is AlertStatus.RESOLVED
    assert fired.group_key == resolved.group_key == '{}:{alertname="Fire"}'
    assert fired.dedup_key == resolved.dedup_key, "without a fingerprint the label set decides"
    assert fired.severity is Severity.CRITICAL
    assert fired.summary == "Something is on fire"
    assert fired.integration == "team-a"
    assert resolved.occurred_at > fired.occurred_at


def test_alertmanager_two_alerts_one_group_and_unknown_keys_tolerated() -> None:
    events = parse("alertmanager", "alertmanager/oncall-example-two-alerts-firing-with-numfiring.json")
    assert [event.dedup_key for event in events] == ["f404ecabc8dd5cd7", "f8f08d4e32c61a9d"]
    assert {event.group_key for event in events} == {'{}:{alertname="InstanceDown"}'}
    assert events[0].raw is not None
    assert events[1].raw is None, "the raw payload is kept once per delivery"


def test_alertmanager_refuses_other_shapes_with_a_reason() -> None:
    strategy = get_strategy("alertmanager")
    with pytest.raises(PayloadError, match="unsupported Alertmanager webhook version"):
        strategy.parse(request("grafana/unified-docs-two-alerts-firing.json"))
    with pytest.raises(PayloadError, match="not JSON"):
        strategy.parse(InboundRequest({}, b"<html>"))
    body = json.dumps({"version": "4", "groupKey": "g", "alerts": [{"status": "exploded"}]}).encode()
    with pytest.raises(PayloadError, match=r"alerts\[0\]\.status"):
        strategy.parse(InboundRequest({}, body))


def test_alertmanager_records_truncation() -> None:
    body = {
        "version": "4",
        "groupKey": "g",
        "truncatedAlerts": 3,
        "alerts": [{"status": "firing", "labels": {"a": "b"}}],
    }
    (parsed,) = get_strategy("alertmanager").parse(InboundRequest({}, json.dumps(body).encode()))
    assert parsed.truncated_alerts == 3


def test_grafana_unified_alerts_and_links() -> None:
    events = parse("grafana", "grafana/unified-docs-two-alerts-firing.json")
    assert len(events) == 2
    assert all(event.status is AlertStatus.FIRING for event in events)
    assert events[0].dedup_key == "c6eadffa33fcdf37"
    assert any(link.text == "Silence" for link in events[0].links)


def test_grafana_relative_generator_url_is_joined_and_image_kept() -> None:
    body = {
        "version": "1",
        "groupKey": "k",
        "externalURL": "https://grafana.example.com/",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "x"},
                "generatorURL": "?orgId=1",
                "imageURL": "https://img/x.png",
            }
        ],
    }
    (parsed,) = get_strategy("grafana").parse(InboundRequest({}, json.dumps(body).encode()))
    assert parsed.links[0].href == "https://grafana.example.com/?orgId=1"
    assert parsed.images[0].src == "https://img/x.png"


def test_grafana_legacy_alerting_then_ok_resolve_by_rule() -> None:
    (alerting,) = parse("grafana", "grafana/legacy-docs-webhook-alerting.json")
    (ok,) = parse("grafana", "grafana/legacy-ok-empty-evalmatches.json")
    assert alerting.status is AlertStatus.FIRING
    assert alerting.dedup_key == "grafana-legacy:1:1"
    assert alerting.images
    assert alerting.images[0].src.startswith("http")
    assert ok.status is AlertStatus.RESOLVED
    assert ok.dedup_key == "grafana-legacy:1:7"


def test_grafana_hmac_signature() -> None:
    body = (PAYLOADS / "grafana/unified-docs-two-alerts-firing.json").read_bytes()
    secret = "s3cret"
    strategy = get_strategy("grafana")
    credentials = IntegrationCredentials(hmac_secret=secret)
    signed = hmac.new(secret.encode(), b"1700000000:" + body, hashlib.sha256).hexdigest()
    headers = {"x-grafana-alerting-signature": signed, "x-grafana-alerting-timestamp": "1700000000"}
    strategy.authenticate(InboundRequest(headers, body), credentials)
    with pytest.raises(AuthenticationError):
        strategy.authenticate(
            InboundRequest({**headers, "x-grafana-alerting-timestamp": "1700000001"}, body), credentials
        )
    with pytest.raises(AuthenticationError):
        strategy.authenticate(InboundRequest({}, body), credentials)


def test_azure_fired_and_resolved_by_alert_id() -> None:
    (resolved,) = parse("azure-monitor", "azure-monitor/common-schema-doc-metric-resolved-customproperties.json")
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.dedup_key.startswith("/subscriptions/")
    assert resolved.summary == "WCUS-R2-Gen2"
    assert resolved.labels["signalType"] == "Metric"
    for name in (
        "test-action-metric-fired-dynamic-threshold-customproperties",
        "test-action-log-alerts-v2-fired-logquerycriteria",
    ):
        (fired,) = parse("azure-monitor", f"azure-monitor/{name}.json")
        assert fired.status is AlertStatus.FIRING
    assert (
        Severity.CRITICAL
        is get_strategy("azure-monitor")
        .parse(
            InboundRequest(
                {},
                json.dumps(
                    {
                        "schemaId": "azureMonitorCommonAlertSchema",
                        "data": {"essentials": {"alertId": "a", "severity": "Sev0", "monitorCondition": "Fired"}},
                    }
                ).encode(),
            )
        )[0]
        .severity
    )
    with pytest.raises(PayloadError, match="common alert schema"):
        get_strategy("azure-monitor").parse(InboundRequest({}, b'{"schemaId": "AIP Budget Notification"}'))


def test_gcp_open_and_closed() -> None:
    (opened,) = parse("gcp-monitoring", "gcp-monitoring/canary-checker-open-pubsub-v1.2-ended-at-null.json")
    assert opened.status is AlertStatus.FIRING
    assert opened.severity is Severity.ERROR
    assert opened.dedup_key == "0.nrwotmyokd9n"
    for name in ("google-forwarding-sample-closed-v1.2", "cloudforet-closed-v1.2"):
        (closed,) = parse("gcp-monitoring", f"gcp-monitoring/{name}.json")
        assert closed.status is AlertStatus.RESOLVED


def test_cloudwatch_notification_and_confirmations_and_eventbridge() -> None:
    (alarm,) = parse("aws-cloudwatch", "cloudwatch-sns/alerta-cloudwatch-alarm-notification-real-signature.json")
    assert alarm.status is AlertStatus.FIRING
    assert alarm.labels["region"] == "EU (Ireland)"
    assert alarm.occurred_at.isoformat() == "2019-02-15T23:53:45.093000+00:00", "the +0000 offset is understood"
    assert parse("aws-cloudwatch", "cloudwatch-sns/aws-docs-subscription-confirmation.json") == []
    assert parse("aws-cloudwatch", "cloudwatch-sns/aws-docs-unsubscribe-confirmation.json") == []
    (bridged,) = parse(
        "aws-cloudwatch", "cloudwatch-eventbridge-lambda/eventbridge-metric-math-alarm-state-change.json"
    )
    assert bridged.status is AlertStatus.FIRING
    assert bridged.dedup_key.startswith("arn:aws:cloudwatch:")
    with pytest.raises(PayloadError):
        parse("aws-cloudwatch", "cloudwatch-eventbridge-lambda/lambda-sns-record-cloudwatch-single-metric-alarm.json")


def test_cloudwatch_plain_text_message() -> None:
    body = json.dumps(
        {"Type": "Notification", "MessageId": "m", "TopicArn": "arn:t", "Subject": "disk", "Message": "disk full"}
    )
    (parsed,) = get_strategy("aws-cloudwatch").parse(InboundRequest({}, body.encode()))
    assert parsed.summary == "disk"
    assert parsed.details == "disk full"


def test_generic_webhook_field_mapping() -> None:
    strategy = get_strategy(
        "generic-webhook",
        {
            "summary_field": "alert.title",
            "severity_field": "alert.level",
            "dedup_key_field": "id",
            "status_field": "state",
        },
    )
    body = {"id": 42, "state": "resolved", "alert": {"title": "queue backed up", "level": "high"}}
    (parsed,) = strategy.parse(InboundRequest({}, json.dumps(body).encode()))
    assert (parsed.summary, parsed.severity, parsed.dedup_key, parsed.status) == (
        "queue backed up",
        Severity.ERROR,
        "42",
        AlertStatus.RESOLVED,
    )
    with pytest.raises(PayloadError, match=r"alert\.title"):
        strategy.parse(InboundRequest({}, b'{"alert": {}}'))


def test_shared_secret_bearer_basic_and_query_token() -> None:
    strategy = get_strategy("alertmanager")
    token = IntegrationCredentials(token="t0ken")
    strategy.authenticate(InboundRequest({"authorization": "Bearer t0ken"}, b"{}"), token)
    strategy.authenticate(InboundRequest({}, b"{}", {"token": "t0ken"}), token)
    with pytest.raises(AuthenticationError):
        strategy.authenticate(InboundRequest({"authorization": "Bearer nope"}, b"{}"), token)
    basic = IntegrationCredentials(basic_username="am", basic_password="pw")
    good = base64.b64encode(b"am:pw").decode()
    strategy.authenticate(InboundRequest({"authorization": f"Basic {good}"}, b"{}"), basic)
    with pytest.raises(AuthenticationError):
        strategy.authenticate(
            InboundRequest({"authorization": "Basic " + base64.b64encode(b"am:x").decode()}, b"{}"), basic
        )


def _mutations() -> st.SearchStrategy[tuple[str, bytes]]:
    files = sorted(p for p in PAYLOADS.rglob("*.json"))
    source_of = {
        "alertmanager": "alertmanager",
        "grafana": "grafana",
        "azure-monitor": "azure-monitor",
        "gcp-monitoring": "gcp-monitoring",
        "cloudwatch-sns": "aws-cloudwatch",
        "cloudwatch-eventbridge-lambda": "aws-cloudwatch",
    }
    candidates = [(source_of[p.parent.name], p.read_bytes()) for p in files if p.parent.name in source_of]

    def mutate(pair: tuple[str, bytes], data: st.DataObject) -> tuple[str, bytes]:
        source, body = pair
        document = json.loads(body)
        if isinstance(document, dict) and document:
            key = data.draw(st.sampled_from(sorted(document)))
            document[key] = data.draw(
                st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers()), st.booleans())
            )
        return source, json.dumps(document).encode()

    mutated = st.tuples(st.sampled_from(candidates), st.data()).map(lambda args: mutate(*args))
    garbage = st.tuples(st.sampled_from(SOURCE_NAMES), st.binary(max_size=200))
    return st.one_of(mutated, garbage)


@given(case=_mutations())
@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
def test_mutated_and_random_bodies_never_escape_as_anything_but_a_payload_error(case: tuple[str, bytes]) -> None:
    source, body = case
    try:
        events = get_strategy(source).parse(InboundRequest({}, body), "fuzz")
    except IngestError as exc:
        reason = exc.reason
        events = []
        assert reason, "every refusal carries a reason"
    for parsed in events:
        assert parsed.group_key
        assert parsed.dedup_key
