"""Grafana webhooks: unified alerting (version "1") and legacy alerting (evalMatches), with HMAC signatures."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from tests.support.payloads import PAYLOADS, json_request, parse_payload

from signalcraft.api.alerts import AlertStatus
from signalcraft.api.specs import Severity
from signalcraft.ingest.errors import AuthenticationError, PayloadError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.registry import get_strategy


def test_unified_alerts_values_and_links() -> None:
    events = parse_payload("grafana", "grafana/unified-docs-two-alerts-firing.json")
    assert [event.dedup_key for event in events] == ["c6eadffa33fcdf37", "bc97ff14869b13e3"]
    assert {event.group_key for event in events} == {"{}:{}"}
    assert all(event.status is AlertStatus.FIRING for event in events)
    memory = events[0]
    assert memory.summary == "This alert was triggered for zone us-1"
    assert memory.annotations["values"] == "B=44.23943737541908, C=1"
    assert memory.annotations["runbook_url"] == "https://myrunbook.com/runbook/1234"
    assert [link.text for link in memory.links] == ["Source", "Silence"], "empty dashboard/panel URLs are no links"
    assert memory.source == "grafana"


def test_relative_generator_url_is_joined_and_image_kept_with_its_panel() -> None:
    body = {
        "version": "1",
        "groupKey": "k",
        "externalURL": "https://grafana.example.com/",
        "alerts": [
            {
                "status": "resolved",
                "labels": {"alertname": "x", "severity": "critical"},
                "generatorURL": "?orgId=1",
                "imageURL": "https://img.example.com/x.png",
                "panelURL": "https://grafana.example.com/d/abc?viewPanel=2",
                "endsAt": "2026-11-23T10:00:00Z",
            }
        ],
    }
    (parsed,) = get_strategy("grafana").parse(json_request(body))
    assert parsed.status is AlertStatus.RESOLVED
    assert parsed.severity is Severity.CRITICAL
    assert parsed.links[0].href == "https://grafana.example.com/?orgId=1"
    assert (parsed.images[0].src, parsed.images[0].href) == (
        "https://img.example.com/x.png",
        "https://grafana.example.com/d/abc?viewPanel=2",
    )


def test_legacy_alerting_then_ok_resolve_by_rule() -> None:
    (alerting,) = parse_payload("grafana", "grafana/legacy-docs-webhook-alerting.json")
    (ok,) = parse_payload("grafana", "grafana/legacy-ok-empty-evalmatches.json")
    assert alerting.status is AlertStatus.FIRING
    assert alerting.dedup_key == alerting.group_key == "grafana-legacy:1:1"
    assert alerting.images
    assert alerting.images[0].src.startswith("http")
    assert alerting.links[0].href.startswith("http")
    assert "&" in alerting.links[0].href, "the \\u0026 escape in ruleUrl is decoded"
    assert alerting.details, "evalMatches become the details"
    assert ok.status is AlertStatus.RESOLVED
    assert ok.dedup_key == "grafana-legacy:1:7"


def test_neither_shape_is_refused() -> None:
    with pytest.raises(PayloadError, match="not a Grafana alert"):
        get_strategy("grafana").parse(json_request({"version": "4", "alerts": []}))


def test_hmac_signature_with_and_without_timestamp() -> None:
    body = (PAYLOADS / "grafana/unified-docs-two-alerts-firing.json").read_bytes()
    secret = "s3cret"
    strategy = get_strategy("grafana")
    credentials = IntegrationCredentials(hmac_secret=secret)
    signed = hmac.new(secret.encode(), b"1700000000:" + body, hashlib.sha256).hexdigest()
    headers = {"x-grafana-alerting-signature": signed, "x-grafana-alerting-timestamp": "1700000000"}
    strategy.authenticate(InboundRequest(headers, body), credentials)
    plain = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    strategy.authenticate(InboundRequest({"x-grafana-alerting-signature": plain}, body), credentials)
    with pytest.raises(AuthenticationError):
        strategy.authenticate(
            InboundRequest({**headers, "x-grafana-alerting-timestamp": "1700000001"}, body), credentials
        )
    with pytest.raises(AuthenticationError):
        strategy.authenticate(InboundRequest({"x-grafana-alerting-signature": plain}, body + b" "), credentials)
    with pytest.raises(AuthenticationError) as refused:
        strategy.authenticate(InboundRequest({}, body), credentials)
    assert secret not in str(refused.value)


def test_hmac_headers_as_configured_and_replays_refused() -> None:
    body = (PAYLOADS / "grafana/unified-docs-two-alerts-firing.json").read_bytes()
    now = str(int(time.time()))
    options = {"hmac_header": "X-Signature", "hmac_timestamp_header": "X-Timestamp", "hmac_max_age_seconds": 300}
    credentials = IntegrationCredentials(hmac_secret="s", options=options)
    strategy = get_strategy("grafana")

    def signed(timestamp: str) -> InboundRequest:
        digest = hmac.new(b"s", f"{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
        return InboundRequest({"x-signature": digest, "x-timestamp": timestamp}, body)

    strategy.authenticate(signed(now), credentials)
    with pytest.raises(AuthenticationError, match="too old"):
        strategy.authenticate(signed(str(int(now) - 3600)), credentials)
    plain = hmac.new(b"s", body, hashlib.sha256).hexdigest()
    with pytest.raises(AuthenticationError, match="timestamp is required"):
        strategy.authenticate(InboundRequest({"x-signature": plain}, body), credentials)
    with pytest.raises(AuthenticationError, match="x-signature"):
        strategy.authenticate(InboundRequest({"x-grafana-alerting-signature": plain}, body), credentials)
