"""Azure Monitor common alert schema: Fired/Resolved by alertId, Sev0..Sev4, every monitoringService variant."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.payloads import json_request, parse_payload

from signalcraft.api.alerts import AlertStatus
from signalcraft.api.specs import Severity
from signalcraft.ingest.errors import AuthenticationError, PayloadError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.registry import get_strategy


def common(essentials: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": essentials, **data}}


def test_resolved_metric_alert_keeps_id_rule_and_custom_properties() -> None:
    (resolved,) = parse_payload(
        "azure-monitor", "azure-monitor/common-schema-doc-metric-resolved-customproperties.json"
    )
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.group_key == resolved.dedup_key
    assert resolved.dedup_key.endswith("/alerts/b9569717-bc32-442f-add5-83a997729330")
    assert resolved.summary == "WCUS-R2-Gen2"
    assert resolved.severity is Severity.INFO, "Sev3"
    assert resolved.labels["signalType"] == "Metric"
    assert resolved.labels["Key1"] == "Value1", "customProperties sit beside alertContext"
    assert resolved.annotations["metric"] == "Percentage CPU"
    assert resolved.annotations["threshold"] == "25"
    assert resolved.occurred_at.isoformat() == "2019-03-22T14:03:16.224631+00:00", "resolvedDateTime"


def test_fired_metric_and_log_alerts() -> None:
    (metric,) = parse_payload(
        "azure-monitor", "azure-monitor/test-action-metric-fired-dynamic-threshold-customproperties.json"
    )
    assert metric.status is AlertStatus.FIRING
    assert metric.annotations["condition_type"] == "DynamicThresholdCriteria"
    assert metric.annotations["value"] == "78.09"
    (log,) = parse_payload("azure-monitor", "azure-monitor/test-action-log-alerts-v2-fired-logquerycriteria.json")
    assert log.status is AlertStatus.FIRING
    assert log.labels["monitoringService"] == "Log Alerts V2"
    assert log.annotations["query"] == "Heartbeat"
    assert log.details == "Alert rule description"
    assert log.occurred_at.isoformat() == "2021-11-16T11:47:41.472823+00:00"


@pytest.mark.parametrize(
    ("sev", "severity"),
    [
        ("Sev0", Severity.CRITICAL),
        ("Sev1", Severity.ERROR),
        ("Sev2", Severity.WARNING),
        ("Sev3", Severity.INFO),
        ("Sev4", Severity.INFO),
    ],
)
def test_severities(sev: str, severity: Severity) -> None:
    body = common({"alertId": "a", "severity": sev, "monitorCondition": "Fired"})
    assert get_strategy("azure-monitor").parse(json_request(body))[0].severity is severity


def test_service_health_with_numeric_fields_and_a_zoneless_time() -> None:
    body = common(
        {
            "alertId": "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/h",
            "alertRule": "service-health",
            "severity": "Sev1",
            "signalType": "Activity Log",
            "monitorCondition": "Fired",
            "monitoringService": "ServiceHealth",
            "firedDateTime": "2026-11-23T09:10:11.123",
        },
        alertContext={"channels": 1, "eventSource": 2, "level": 3, "properties": {"title": "Outage"}},
        customProperties=None,
    )
    (health,) = get_strategy("azure-monitor").parse(json_request(body))
    assert health.labels["monitoringService"] == "ServiceHealth"
    assert health.occurred_at.isoformat() == "2026-11-23T09:10:11.123000+00:00", "no zone: UTC"


def test_other_schemas_and_broken_essentials_are_refused() -> None:
    strategy = get_strategy("azure-monitor")
    with pytest.raises(PayloadError, match="common alert schema"):
        strategy.parse(json_request({"schemaId": "AIP Budget Notification", "data": {}}))
    with pytest.raises(PayloadError, match="alertId"):
        strategy.parse(json_request(common({"monitorCondition": "Fired"})))
    with pytest.raises(PayloadError, match="monitorCondition"):
        strategy.parse(json_request(common({"alertId": "a", "monitorCondition": "Sleeping"})))


def test_url_token_as_tokenid() -> None:
    strategy = get_strategy("azure-monitor")
    credentials = IntegrationCredentials(token="az-token")
    strategy.authenticate(InboundRequest({}, b"{}", {"tokenid": "az-token"}), credentials)
    with pytest.raises(AuthenticationError):
        strategy.authenticate(InboundRequest({}, b"{}", {"tokenid": "other"}), credentials)
