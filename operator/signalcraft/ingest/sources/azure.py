"""Azure Monitor action-group webhooks with the common alert schema: Fired/Resolved by `essentials.alertId`."""

from __future__ import annotations

from signalcraft.ingest.errors import PayloadError
from signalcraft.ingest.model import AlertEvent, AlertStatus, Link, Severity
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.common import check_shared_secret, clip, event, json_object, parse_time, raw_for_audit

DEFAULT_SEVERITIES = {
    "Sev0": Severity.CRITICAL,
    "Sev1": Severity.ERROR,
    "Sev2": Severity.WARNING,
    "Sev3": Severity.INFO,
    "Sev4": Severity.INFO,
}


class AzureMonitorSource:
    name = "azure-monitor"

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        check_shared_secret(request, credentials)

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        document = json_object(request)
        if document.get("schemaId") != "azureMonitorCommonAlertSchema":
            raise PayloadError("only the common alert schema is supported (enable it on the action group)")
        data = document.get("data")
        essentials = data.get("essentials") if isinstance(data, dict) else None
        if not isinstance(essentials, dict) or not isinstance(essentials.get("alertId"), str):
            raise PayloadError("data.essentials.alertId is missing")
        condition = essentials.get("monitorCondition")
        if condition not in ("Fired", "Resolved"):
            raise PayloadError("data.essentials.monitorCondition must be Fired or Resolved")
        resolved = condition == "Resolved"
        targets = essentials.get("alertTargetIDs") if isinstance(essentials.get("alertTargetIDs"), list) else []
        labels = {
            "alertRule": str(essentials.get("alertRule", "")),
            "signalType": str(essentials.get("signalType", "")),
            "monitoringService": str(essentials.get("monitoringService", "")),
            "severity": str(essentials.get("severity", "")),
        }
        custom = data.get("customProperties") if isinstance(data, dict) else None
        if isinstance(custom, dict):
            labels.update({str(key)[:200]: str(value)[:1024] for key, value in custom.items()})
        portal = essentials.get("investigationLink") or essentials.get("alertPortalLink")
        return [
            event(
                source=self.name,
                integration=integration,
                group_key=essentials["alertId"],
                dedup_key=essentials["alertId"],
                status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
                severity=DEFAULT_SEVERITIES.get(str(essentials.get("severity")), Severity.WARNING),
                summary=clip(essentials.get("alertRule") or essentials.get("description"), 1024),
                details=clip(essentials.get("description"), 16 * 1024),
                labels={key: value for key, value in labels.items() if value},
                annotations={"targets": ", ".join(map(str, targets))[:4096]} if targets else {},
                links=[Link(href=portal[:2048], text="Azure portal")] if isinstance(portal, str) else [],
                occurred_at=parse_time(
                    essentials.get("resolvedDateTime") if resolved else essentials.get("firedDateTime")
                ),
                raw=raw_for_audit(request),
            )
        ]
