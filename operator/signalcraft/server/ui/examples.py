"""Example payloads for "send a test alert", one per source in that source's own format (the shapes the strategies in
`signalcraft.ingest.sources` parse), and the curl command that sends the same thing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from signalcraft.api.specs import IntegrationType

SUMMARY = "Test alert from the SignalCraft setup page"
NOT_TESTABLE = {
    IntegrationType.AWS_CLOUDWATCH: "Amazon SNS signs every message and SignalCraft checks the signature, so a test "
    "has to come from AWS: use Publish message on the topic in the SNS console.",
    IntegrationType.JIRA: "Jira sends issue updates, not alerts: move an issue created by SignalCraft to Done.",
    IntegrationType.SERVICENOW: "ServiceNow sends incident updates, not alerts: resolve an incident SignalCraft "
    "opened.",
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _nest(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        document = document.setdefault(key, {})
    document[leaf] = value


def payload(kind: IntegrationType, settings: dict[str, Any], integration_key: str = "") -> dict[str, Any] | None:
    now = _now()
    labels = {"alertname": "SignalCraftTest", "severity": "warning", "instance": "web-1"}
    if kind is IntegrationType.ALERTMANAGER:
        return {
            "version": "4",
            "groupKey": '{}:{alertname="SignalCraftTest"}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "signalcraft",
            "groupLabels": {"alertname": "SignalCraftTest"},
            "commonLabels": labels,
            "commonAnnotations": {"summary": SUMMARY},
            "externalURL": "http://alertmanager.example:9093",
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {"summary": SUMMARY},
                    "startsAt": now,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.example:9090/graph",
                    "fingerprint": "5c0e1a7d9b3f2a41",
                }
            ],
        }
    if kind is IntegrationType.GRAFANA:
        return {
            "receiver": "signalcraft",
            "status": "firing",
            "orgId": 1,
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {"summary": SUMMARY},
                    "startsAt": now,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://grafana.example:3000/alerting/grafana/test/view",
                    "fingerprint": "7a1f3c2e9d0b4e55",
                    "silenceURL": "",
                    "dashboardURL": "",
                    "panelURL": "",
                    "values": None,
                    "valueString": "",
                }
            ],
            "groupLabels": {"alertname": "SignalCraftTest"},
            "commonLabels": labels,
            "commonAnnotations": {"summary": SUMMARY},
            "externalURL": "http://grafana.example:3000/",
            "version": "1",
            "groupKey": '{}:{alertname="SignalCraftTest"}',
            "truncatedAlerts": 0,
            "title": "[FIRING:1] SignalCraftTest",
            "state": "alerting",
            "message": SUMMARY,
        }
    if kind is IntegrationType.AZURE_MONITOR:
        return {
            "schemaId": "azureMonitorCommonAlertSchema",
            "data": {
                "essentials": {
                    "alertId": "/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
                    "Microsoft.AlertsManagement/alerts/signalcraft-test-1",
                    "alertRule": "SignalCraftTest",
                    "severity": "Sev2",
                    "signalType": "Metric",
                    "monitorCondition": "Fired",
                    "monitoringService": "Platform",
                    "alertTargetIDs": [
                        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/web/providers/"
                        "microsoft.compute/virtualmachines/web-1"
                    ],
                    "originAlertId": "signalcraft-test-1",
                    "firedDateTime": now,
                    "description": SUMMARY,
                    "essentialsVersion": "1.0",
                    "alertContextVersion": "1.0",
                },
                "alertContext": {},
                "customProperties": {},
            },
        }
    if kind is IntegrationType.GCP_MONITORING:
        return {
            "version": "1.2",
            "incident": {
                "incident_id": "0.signalcraft-test-1",
                "scoping_project_id": "example-project",
                "policy_name": "SignalCraftTest",
                "condition_name": "SignalCraft test condition",
                "state": "open",
                "started_at": int(datetime.now(UTC).timestamp()),
                "ended_at": None,
                "summary": SUMMARY,
                "url": "https://console.cloud.google.com/monitoring/alerting",
                "resource": {"type": "gce_instance", "labels": {"instance_id": "web-1"}},
                "severity": "Warning",
            },
        }
    if kind is IntegrationType.GENERIC_WEBHOOK:
        document: dict[str, Any] = {}
        _nest(document, str(settings.get("summary_field") or "summary"), SUMMARY)
        for key, value in (
            ("severity_field", "warning"),
            ("status_field", "firing"),
            ("dedup_key_field", "signalcraft-test-1"),
        ):
            if settings.get(key):
                _nest(document, str(settings[key]), value)
        return document
    if kind is IntegrationType.EVENTS_API:
        return {
            "routing_key": integration_key,
            "event_action": "trigger",
            "dedup_key": "signalcraft-test-1",
            "payload": {"summary": SUMMARY, "source": "signalcraft-ui", "severity": "warning"},
        }
    return None


def shell_quote(text: str) -> str:
    """Single quotes always (the page's script quotes the same way, so both curl commands read alike)."""
    return "'" + text.replace("'", "'\\''") + "'"


def curl(url: str, body: str) -> str:
    header = "-H 'Content-Type: application/json'"
    return f"curl -X POST {shell_quote(url)} \\\n  {header} \\\n  --data-binary {shell_quote(body)}"


def pretty(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2)
