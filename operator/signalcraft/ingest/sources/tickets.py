"""Inbound ticket updates: a Jira issue or ServiceNow incident that reaches done/resolved/closed resolves its alerts.

These events address a *ticket*, not an alert group: `group_key` and `dedup_key` are the ticket's key (Jira issue key,
ServiceNow incident number), `labels["ticket_system"]`/`labels["ticket_key"]` say so, and the receiver resolves the
alert group it linked to that ticket when it created it. RESOLVED means the ticket is done after this change; FIRING
means it is open again (a reopen, which must never resolve anything). A body that does not say which it is (no status
category, no state) yields no event rather than a guess.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from signalcraft.api.alerts import AlertEvent, AlertStatus, Link
from signalcraft.ingest.errors import AuthenticationError, PayloadError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials, NoSubscription
from signalcraft.ingest.sources.common import (
    as_object,
    check_shared_secret,
    clip,
    event,
    json_object,
    parse_time,
    raw_for_audit,
)

JIRA_SIGNATURE_HEADER = "x-hub-signature"
SERVICENOW_DONE_STATES = {"6", "7", "resolved", "closed"}
"""Incident states 6 Resolved and 7 Closed, as codes (the Table API default) or display values."""


def ticket_labels(system: str, key: str, **more: Any) -> dict[str, str]:
    labels = {"ticket_system": system, "ticket_key": key}
    labels.update({name: clip(value, 1024) for name, value in more.items() if value not in (None, "")})
    return labels


class JiraSource(NoSubscription):
    name = "jira"

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        """Admin webhooks with a secret sign the body: `X-Hub-Signature: sha256=<hex HMAC-SHA256>`; else a token."""
        if credentials.hmac_secret:
            expected = "sha256=" + hmac.new(credentials.hmac_secret.encode(), request.body, hashlib.sha256).hexdigest()
            offered = request.headers.get(JIRA_SIGNATURE_HEADER, "").strip()
            if not offered or not hmac.compare_digest(offered.encode(), expected.encode()):
                raise AuthenticationError(f"missing or wrong {JIRA_SIGNATURE_HEADER}")
            return
        check_shared_secret(request, credentials)

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        document = json_object(request)
        issue = document.get("issue")
        if not isinstance(issue, dict) or not isinstance(issue.get("key"), str) or not issue["key"]:
            raise PayloadError("issue.key is missing: not a Jira issue webhook")
        key: str = issue["key"]
        fields = as_object(issue.get("fields"))
        category = as_object(as_object(fields.get("status")).get("statusCategory")).get("key")
        if not isinstance(category, str):
            return []  # a trimmed body: the changelog alone is only a hint, never a reason to resolve
        done = category == "done"
        status_name = as_object(fields.get("status")).get("name")
        self_url = issue.get("self")
        timestamp = document.get("timestamp")
        return [
            event(
                source=self.name,
                integration=integration,
                group_key=key,
                dedup_key=key,
                status=AlertStatus.RESOLVED if done else AlertStatus.FIRING,
                summary=clip(fields.get("summary") or key, 1024),
                labels=ticket_labels(
                    self.name,
                    key,
                    ticket_id=issue.get("id"),
                    ticket_status=status_name,
                    webhook_event=document.get("webhookEvent"),
                ),
                links=[Link(href=self_url[:2048], text=key)] if isinstance(self_url, str) and self_url else [],
                occurred_at=parse_time(timestamp / 1000 if isinstance(timestamp, int) else None),
                raw=raw_for_audit(request),
            )
        ]


class ServiceNowSource(NoSubscription):
    name = "servicenow"

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        check_shared_secret(request, credentials)

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        """An incident record as a business rule or Flow posts it: flat, or wrapped in `result` like the Table API."""
        document = json_object(request)
        record = document["result"] if isinstance(document.get("result"), dict) else document
        number = record.get("number")
        if not isinstance(number, str) or not number:
            raise PayloadError("number is missing: not a ServiceNow incident record")
        state = record.get("state")
        if state in (None, ""):
            return []
        done = str(state).strip().lower() in SERVICENOW_DONE_STATES
        return [
            event(
                source=self.name,
                integration=integration,
                group_key=number,
                dedup_key=number,
                status=AlertStatus.RESOLVED if done else AlertStatus.FIRING,
                summary=clip(record.get("short_description") or number, 1024),
                labels=ticket_labels(
                    self.name,
                    number,
                    ticket_id=record.get("sys_id"),
                    ticket_status=str(state),
                    correlation_id=record.get("correlation_id"),
                ),
                occurred_at=parse_time(record.get("sys_updated_on")),
                raw=raw_for_audit(request),
            )
        ]
