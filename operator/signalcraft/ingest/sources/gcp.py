"""Google Cloud Monitoring webhook channel (incident schema 1.2): open/closed by `incident_id`."""

from __future__ import annotations

from signalcraft.api.alerts import AlertEvent, AlertStatus, Link
from signalcraft.ingest.errors import PayloadError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials, NoSubscription
from signalcraft.ingest.sources.common import (
    as_object,
    check_shared_secret,
    clip,
    event,
    json_object,
    parse_time,
    raw_for_audit,
    severity_of,
    strings,
)


class GcpMonitoringSource(NoSubscription):
    name = "gcp-monitoring"

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        # Cloud Monitoring cannot send headers for token auth: `webhook_tokenauth` puts the token in the URL.
        check_shared_secret(request, credentials, ("token", "auth_token"))

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        document = json_object(request)
        incident = document.get("incident")
        if not isinstance(incident, dict) or not isinstance(incident.get("incident_id"), str):
            raise PayloadError("incident.incident_id is missing")
        if document.get("version") == "test":
            return []  # the console's "Test connection" carries no incident worth an alert
        state = str(incident.get("state", "")).lower()
        if state not in ("open", "closed"):
            raise PayloadError("incident.state must be open or closed")
        closed = state == "closed"
        resource = as_object(incident.get("resource"))
        labels = {
            "policy": str(incident.get("policy_name", "")),
            "condition": str(incident.get("condition_name", "")),
            "resource_type": str(resource.get("type", "") or incident.get("resource_type_display_name", "")),
            **{f"resource_{key}": value for key, value in strings(resource.get("labels")).items()},
        }
        url = incident.get("url")
        started, ended = incident.get("started_at"), incident.get("ended_at")
        return [
            event(
                source=self.name,
                integration=integration,
                group_key=incident["incident_id"],
                dedup_key=incident["incident_id"],
                status=AlertStatus.RESOLVED if closed else AlertStatus.FIRING,
                severity=severity_of(incident.get("severity")),
                summary=clip(incident.get("summary") or incident.get("policy_name"), 1024),
                details=clip(incident.get("summary"), 16 * 1024),
                labels={key: value for key, value in labels.items() if value},
                links=[Link(href=url[:2048], text="Incident")] if isinstance(url, str) and url else [],
                occurred_at=parse_time(ended if closed and ended else started),
                raw=raw_for_audit(request),
            )
        ]
