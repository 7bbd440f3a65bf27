"""Grafana alerting webhooks: unified alerting (9 to 12, `version: "1"`) and legacy alerting (≤ 8, `evalMatches`)."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any

from signalcraft.api.alerts import AlertEvent, AlertStatus, Image, Link
from signalcraft.ingest.errors import AuthenticationError, PayloadError
from signalcraft.ingest.sources.alertmanager import alert_events
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials, NoSubscription
from signalcraft.ingest.sources.common import (
    as_list,
    check_shared_secret,
    clip,
    event,
    json_object,
    raw_for_audit,
    severity_of,
    strings,
)

SIGNATURE_HEADER = "x-grafana-alerting-signature"
TIMESTAMP_HEADER = "x-grafana-alerting-timestamp"
LEGACY_FIRING = {"alerting", "no_data", "pending"}


class GrafanaSource(NoSubscription):
    name = "grafana"

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        """HMAC-SHA256 of `[timestamp:]body` (Grafana's hmacConfig) when a secret is set; else token/basic.

        The integration's settings may rename the headers as the contact point does (`hmac_header`,
        `hmac_timestamp_header`) and bound a signed timestamp's age (`hmac_max_age_seconds`) against replays.
        """
        if not credentials.hmac_secret:
            check_shared_secret(request, credentials)
            return
        options = credentials.options
        header = str(options.get("hmac_header") or SIGNATURE_HEADER).lower()
        signature = request.headers.get(header, "")
        timestamp = request.headers.get(str(options.get("hmac_timestamp_header") or TIMESTAMP_HEADER).lower())
        signed = f"{timestamp}:".encode() + request.body if timestamp else request.body
        expected = hmac.new(credentials.hmac_secret.encode(), signed, hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
            raise AuthenticationError(f"missing or wrong {header}")
        max_age = options.get("hmac_max_age_seconds")
        if isinstance(max_age, int | float) and not isinstance(max_age, bool):
            if not timestamp or not timestamp.strip().isdigit():
                raise AuthenticationError("a signed timestamp is required for this integration")
            if abs(time.time() - int(timestamp)) > max_age:
                raise AuthenticationError("the signed timestamp is too old (or in the future)")

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        document = json_object(request)
        if "evalMatches" in document or "ruleId" in document:
            return [self._legacy(document, request, integration)]
        if document.get("version") != "1" or "alerts" not in document:
            raise PayloadError('not a Grafana alert: expected unified alerting (version "1", alerts[]) or legacy')
        events = alert_events(document, request, integration, self.name)
        return [self._unified_extras(alert, parsed) for alert, parsed in zip(document["alerts"], events, strict=True)]

    @staticmethod
    def _unified_extras(alert: dict[str, Any], parsed: AlertEvent) -> AlertEvent:
        """What Grafana adds to the Alertmanager shape: the query values and the rendered panel image."""
        update: dict[str, Any] = {}
        values = alert.get("values")
        if isinstance(values, dict) and values:
            rendered = ", ".join(f"{ref}={value}" for ref, value in sorted(values.items()))
            update["annotations"] = {**parsed.annotations, "values": rendered[:4096]}
        image = alert.get("imageURL")
        if isinstance(image, str) and image:
            panel = alert.get("panelURL")
            href = panel[:2048] if isinstance(panel, str) else ""
            update["images"] = [Image(src=image[:2048], href=href, alt="panel")]
        return parsed.model_copy(update=update) if update else parsed

    def _legacy(self, document: dict[str, Any], request: InboundRequest, integration: str) -> AlertEvent:
        state = document.get("state")
        if not isinstance(state, str):
            raise PayloadError("legacy Grafana alert without a state")
        rule = document.get("ruleId")
        org = document.get("orgId", 1)
        key = f"grafana-legacy:{org}:{rule if rule is not None else document.get('ruleName', '')}"
        tags = strings(document.get("tags"))
        matches = as_list(document.get("evalMatches"))
        details = "\n".join(
            f"{match.get('metric')}: {match.get('value')}" for match in matches if isinstance(match, dict)
        )
        links = [Link(href=document["ruleUrl"][:2048], text="Rule")] if isinstance(document.get("ruleUrl"), str) else []
        image = document.get("imageUrl")
        images = [Image(src=image[:2048], alt="panel")] if isinstance(image, str) and image else []
        return event(
            source=self.name,
            integration=integration,
            group_key=key,
            dedup_key=key,
            status=AlertStatus.FIRING if state in LEGACY_FIRING else AlertStatus.RESOLVED,
            severity=severity_of(tags.get("severity")),
            summary=clip(document.get("ruleName") or document.get("title"), 1024),
            details=details or clip(document.get("message"), 4096),
            labels=tags,
            links=links,
            images=images,
            occurred_at=datetime.now(UTC),
            raw=raw_for_audit(request),
        )
