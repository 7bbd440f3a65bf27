"""Any JSON body, mapped by per-integration dotted paths (summary, severity, dedup key, status)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from signalcraft.api.alerts import AlertEvent, AlertStatus
from signalcraft.ingest.errors import PayloadError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials, NoSubscription
from signalcraft.ingest.sources.common import check_shared_secret, clip, event, json_object, raw_for_audit, severity_of

RESOLVED_WORDS = {"resolved", "ok", "closed", "recovered", "normal", "inactive", "false"}
ACKNOWLEDGED_WORDS = {"acknowledged", "ack", "acked"}


def dotted(document: Any, path: str | None) -> Any:
    """`a.b.0.c` into nested objects and lists; None when any step is missing."""
    if not path:
        return None
    value = document
    for step in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


class GenericWebhookSource(NoSubscription):
    name = "generic-webhook"

    def __init__(self, mapping: Mapping[str, Any] | None = None) -> None:
        self.mapping = dict(mapping or {})

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        check_shared_secret(request, credentials)

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        document = json_object(request)
        mapping = self.mapping
        summary = dotted(document, mapping.get("summary_field", "summary"))
        if summary is None or isinstance(summary, dict | list):
            raise PayloadError(f"no text at {mapping.get('summary_field', 'summary')!r} for the summary")
        dedup = dotted(document, mapping.get("dedup_key_field"))
        key = clip(dedup, 1024) if dedup not in (None, "") else hashlib.sha256(request.body).hexdigest()[:32]
        status_text = str(dotted(document, mapping.get("status_field")) or "firing").strip().lower()
        status = (
            AlertStatus.RESOLVED
            if status_text in RESOLVED_WORDS
            else AlertStatus.ACKNOWLEDGED
            if status_text in ACKNOWLEDGED_WORDS
            else AlertStatus.FIRING
        )
        return [
            event(
                source=self.name,
                integration=integration,
                group_key=key,
                dedup_key=key,
                status=status,
                severity=severity_of(dotted(document, mapping.get("severity_field"))),
                summary=clip(summary, 1024),
                occurred_at=datetime.now(UTC),
                raw=raw_for_audit(request),
            )
        ]
