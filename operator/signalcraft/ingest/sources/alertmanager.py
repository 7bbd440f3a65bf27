"""Prometheus Alertmanager `webhook_config` (v4, and v3 from old releases): one alert group per `groupKey`."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin

from signalcraft.api.alerts import AlertEvent, AlertStatus, Link
from signalcraft.ingest.errors import PayloadError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials, NoSubscription
from signalcraft.ingest.sources.common import (
    check_shared_secret,
    event,
    field,
    json_object,
    label_fingerprint,
    parse_time,
    raw_for_audit,
    severity_of,
    strings,
)

MAX_TRUNCATED = 1_000_000
"""Upper bound of `truncatedAlerts` kept; more than that only says "very many"."""


def derived_group_key(document: dict[str, Any]) -> str:
    """A group key for senders that send none (old v3 releases): the receiver and the group's labels.

    Alertmanager's own key is `<route>:<groupLabels>`; without the route, receiver plus groupLabels tells the
    groups of one Alertmanager apart just as well, and the same group always gets the same key.
    """
    receiver = document.get("receiver") if isinstance(document.get("receiver"), str) else ""
    labels = strings(document.get("groupLabels"))
    rendered = ",".join(f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in sorted(labels.items()))
    return f"{receiver}:{{{rendered}}}"


def alert_events(
    document: dict[str, Any], request: InboundRequest, integration: str, source: str, where: str = ""
) -> list[AlertEvent]:
    """Alertmanager-shaped alerts (also Grafana unified alerting, which extends this shape)."""
    group_key = document.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        group_key = derived_group_key(document)
    group_status = document.get("status")
    alerts = field(document, "alerts", list, where)
    external = document.get("externalURL") if isinstance(document.get("externalURL"), str) else ""
    truncated = document.get("truncatedAlerts", 0)
    truncated = truncated if isinstance(truncated, int) and not isinstance(truncated, bool) and truncated >= 0 else 0
    truncated = min(truncated, MAX_TRUNCATED)
    common = strings(document.get("commonLabels"))
    raw = raw_for_audit(request)
    events = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise PayloadError(f"{where}alerts[{index}] must be an object")
        # Older senders put the status on the body only: each alert then shares the group's.
        status = alert.get("status", group_status)
        if status not in ("firing", "resolved"):
            raise PayloadError(f"{where}alerts[{index}].status (or the body's status) must be firing or resolved")
        labels = strings(alert.get("labels"))
        annotations = strings(alert.get("annotations"))
        fingerprint = alert.get("fingerprint") if isinstance(alert.get("fingerprint"), str) else ""
        links = []
        generator = alert.get("generatorURL")
        if isinstance(generator, str) and generator:
            links.append(Link(href=urljoin(external or "", generator)[:2048], text="Source"))
        for key, text in (("silenceURL", "Silence"), ("dashboardURL", "Dashboard"), ("panelURL", "Panel")):
            value = alert.get(key)
            if isinstance(value, str) and value:
                links.append(Link(href=value[:2048], text=text))
        resolved = status == "resolved"
        events.append(
            event(
                source=source,
                integration=integration,
                group_key=group_key,
                dedup_key=fingerprint or label_fingerprint(labels),
                status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
                severity=severity_of(labels.get("severity"), common.get("severity"), labels.get("priority")),
                summary=annotations.get("summary")
                or annotations.get("message")
                or annotations.get("description")
                or labels.get("alertname")
                or group_key,
                details=annotations.get("description", ""),
                labels=labels,
                annotations=annotations,
                links=links,
                occurred_at=parse_time(alert.get("endsAt") if resolved else alert.get("startsAt")),
                truncated_alerts=truncated,
                raw=raw if index == 0 else None,
            )
        )
    return events


class AlertmanagerSource(NoSubscription):
    name = "alertmanager"

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        check_shared_secret(request, credentials)

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        document = json_object(request)
        version = document.get("version")
        if version not in ("4", "3"):
            raise PayloadError(f'unsupported Alertmanager webhook version {version!r} (expected "4" or "3")')
        return alert_events(document, request, integration, self.name)
