"""Tickets for alert groups, both ways: Jira Cloud (REST v3, ADF) and ServiceNow (Table API).

Outbound work (create, comment, resolve) is a durable job in the API database, run by one background task with retries,
exponential backoff and Retry-After, so an outage of Jira or ServiceNow delays tickets but never loses them. Creating is
idempotent: a group holds at most one ticket per integration, and before creating, the ticket system is asked whether a
ticket for this group already exists (Jira: the group's label; ServiceNow: correlation_id), which closes the window
between a ticket being created and its key being stored. Resolves that came from the ticket system never transition the
ticket again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter

from signalcraft.ingest.sources.registry import TICKET_SOURCE_NAMES
from signalcraft.server import atlassian
from signalcraft.server.auth import now_text
from signalcraft.server.problems import Problem
from signalcraft.server.storage import Row, Session, Storage, dumps
from signalcraft.supervision import Progress, failure_outline

log = logging.getLogger("signalcraft.ticketing")
TICKET_SYSTEMS = TICKET_SOURCE_NAMES
MAX_ATTEMPTS = 12
MAX_BACKOFF = 300.0
MAX_ERROR_CHARS = 300
"""The longest failure text kept (job, alert group, the integration's status): a reason, never a reply."""
CLAIM_LEASE = 120.0
"""A claimed job is hidden from other workers this long; if its worker dies, it is due again after that."""
JIRA_PRIORITY = {"critical": "Highest", "error": "High", "warning": "Medium", "info": "Low"}
SERVICENOW_URGENCY = {"critical": "1", "error": "1", "warning": "2", "info": "3"}


class TransientDeliveryError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(Exception):
    pass


CREDENTIALS_GO_TO = {"jira": ("base_url", "auth"), "servicenow": ("instance_url", "auth")}
"""The settings that decide where, and how, a ticket system's stored credentials are sent."""


def _destination(value: object) -> object:
    return value.rstrip("/") if isinstance(value, str) else value


def require_credentials_for_a_move(
    previous: Mapping[str, Any], spec: Mapping[str, Any], stored: Mapping[str, Any]
) -> None:
    """Refuse (422 credentials-required) a write that would send the stored credentials somewhere else, or another way,
    than they were given for: a new base_url / instance_url (or auth mode) comes with its credentials."""
    kind = str(spec.get("type"))
    if not stored.get("credentials") or kind not in CREDENTIALS_GO_TO:
        return
    before, after = previous.get(kind) or {}, spec.get(kind) or {}
    moved = [key for key in CREDENTIALS_GO_TO[kind] if _destination(before.get(key)) != _destination(after.get(key))]
    if moved:
        changed = " and ".join(f"{kind}.{key}" for key in moved)
        raise Problem(
            422,
            "credentials-required",
            f"{changed} changed: send the credentials for the new destination with it (stored credentials are only "
            "ever sent where they were given for)",
            errors=[{"pointer": "/credentials", "detail": f"required when {changed} changes"}],
        )


@dataclass(frozen=True)
class TicketIntegration:
    name: str
    type: str
    settings: dict[str, Any]
    credentials: dict[str, str]


async def integration(db: Storage | Session, name: str) -> TicketIntegration:
    row = await db.resources.get("integrations", name)
    if row is None:
        raise Problem(404, "not-found", f"integrations {name!r} does not exist")
    spec = json.loads(row["spec"])
    if spec["type"] not in TICKET_SYSTEMS:
        raise Problem(422, "not-a-ticket-system", f"integration {name!r} is {spec['type']}, not jira or servicenow")
    secrets = json.loads(row["secrets"])
    return TicketIntegration(name, spec["type"], spec.get(spec["type"], {}), dict(secrets.get("credentials", {})))


COALESCED = {"create": "", "comment": "/comment"}
"""Actions with at most one job per group and integration (the suffix of its dedupe key); resolves queue each."""


async def enqueue(tx: Session, group_id: str, integration_name: str, action: str) -> None:
    """A job for the worker. Creates and comments are one job per group and integration: a second create while one
    waits is a no-op, a second comment joins the waiting one (which tells the group as it is when it runs), and either
    asked for after its job failed for good runs again from a fresh start."""
    suffix = COALESCED.get(action)
    dedupe = f"{group_id}/{integration_name}{suffix}" if suffix is not None else None
    await tx.tickets.enqueue(group_id, integration_name, action, dedupe, time.time())


async def ticket_systems(tx: Session) -> list[tuple[str, dict[str, Any]]]:
    """(name, settings) of every Jira and ServiceNow integration: read once per ingest request, not per event."""
    rows = await tx.resources.integrations_of_type(*TICKET_SYSTEMS)
    return [(str(row["name"]), (spec := json.loads(row["spec"])).get(spec["type"], {})) for row in rows]


async def automate(
    tx: Session,
    group_id: str,
    severity: str,
    new_group: bool,
    new_alert: bool,
    *,
    systems: list[tuple[str, dict[str, Any]]] | None = None,
) -> None:
    """Called inside the ingest transaction: auto-create tickets, or comment on the existing ones."""
    if systems is None:
        systems = await ticket_systems(tx)
    if not systems or not (new_group or new_alert):
        return
    tickets = await tx.alerts.tickets(group_id)
    for name, settings in systems:
        if name in tickets and new_alert:
            await enqueue(tx, group_id, name, "comment")
        elif new_group and settings.get("auto_create_severity") == severity:
            await enqueue(tx, group_id, name, "create")


async def on_group_resolved(tx: Session, group_id: str, *, from_ticket_system: str | None) -> None:
    """Resolve the group's tickets, except in the system the resolve came from (no ping-pong)."""
    for name in await tx.alerts.tickets(group_id):
        if name != from_ticket_system:
            await enqueue(tx, group_id, name, "resolve")


@dataclass
class TicketMetrics:
    """Ticket delivery, on the API server's /metrics."""

    registry: CollectorRegistry

    def __post_init__(self) -> None:
        r = self.registry
        self.created = Counter("signalcraft_api_tickets_created", "Tickets created", ["integration"], registry=r)
        self.retried = Counter(
            "signalcraft_api_ticket_retries",
            "Outbound ticket calls postponed after a failure",
            ["integration"],
            registry=r,
        )
        self.failed = Counter(
            "signalcraft_api_ticket_failures", "Ticket jobs that failed for good", ["integration"], registry=r
        )


class TicketWorker:
    """Runs due jobs one at a time, supervised by the API server (restarted with backoff if it ever dies, /healthz
    fails while it makes no progress). Whatever goes wrong with one job postpones that job, never the others."""

    def __init__(
        self,
        db: Storage,
        metrics: TicketMetrics,
        *,
        ca_bundle: str | None = None,
        idle: float = 0.3,
        jira_oauth: atlassian.OAuthApp | None = None,
    ) -> None:
        self.db = db
        self.idle = idle
        self.verify: str | bool = ca_bundle or True
        self.metrics = metrics
        self.jira_oauth = jira_oauth

    async def run(self, progress: Progress) -> None:
        async with httpx.AsyncClient(timeout=15, verify=self.verify) as http:
            while True:
                # Not exclusive: on PostgreSQL several workers claim at once, each a different job.
                async with self.db.transaction(exclusive=False) as tx:
                    job = await tx.tickets.claim(time.time(), CLAIM_LEASE)
                if job is None:
                    progress.beat()
                    await asyncio.sleep(self.idle)
                    continue
                await self._run(http, job)
                progress.beat()

    async def _run(self, http: httpx.AsyncClient, job: Row) -> None:
        try:
            target = await integration(self.db, job["integration"])
            group = await self.db.alerts.group(job["group_id"])
            if group is None:
                raise PermanentDeliveryError("the alert group no longer exists")
            if target.type == "jira" and atlassian.needs_refresh(target.credentials):
                target = await self._refreshed(http, target)
            client = (
                JiraClient(http, target, self.jira_oauth) if target.type == "jira" else ServiceNowClient(http, target)
            )
            tickets = json.loads(group["ticket"] or "{}")
            current = tickets.get(target.name, {})
            if job["action"] == "create":
                if not current.get("key"):
                    current = {
                        **(await client.find(group) or await client.create(group, await self._alerts(group["id"])))
                    }
            elif current.get("key"):
                if job["action"] == "comment":
                    await client.comment(current, group)
                elif job["action"] == "resolve" and target.settings.get("transition_on_resolve", True):
                    await client.resolve(current, group)
            await self._done(job, target.name, {**current, "last_error": None, "updated_at": now_text()})
        except TransientDeliveryError as exc:
            await self._retry(job, str(exc), exc.retry_after)
        except (PermanentDeliveryError, Problem) as exc:
            await self._failed(job, str(exc))
        except httpx.HTTPError as exc:
            await self._retry(job, f"{type(exc).__name__}", None)
        except Exception as exc:  # a reply or a state nobody foresaw: this job backs off, the others go on
            log.warning(
                "ticket %s for group %s failed unexpectedly: %s", job["action"], job["group_id"], failure_outline(exc)
            )
            await self._retry(job, f"unexpected {type(exc).__name__}", None)

    async def _refreshed(self, http: httpx.AsyncClient, target: TicketIntegration) -> TicketIntegration:
        """A fresh access token before the old one expires; the rotated refresh token is stored before it is used."""
        if self.jira_oauth is None:
            raise PermanentDeliveryError("this integration was connected by OAuth but the server has no OAuth app")
        try:
            grant = await atlassian.refresh(http, self.jira_oauth, target.credentials["oauth_refresh_token"])
        except atlassian.OAuthError as exc:
            if exc.permanent:
                raise PermanentDeliveryError(f"Jira OAuth: {exc} (connect Jira again)") from None
            raise TransientDeliveryError(f"Jira OAuth: {exc}") from None
        credentials = {**target.credentials, **grant.credentials(target.credentials.get("oauth_cloud_id", ""))}
        await merge_credentials(self.db, target.name, credentials)
        return TicketIntegration(target.name, target.type, target.settings, credentials)

    async def _alerts(self, group_id: str) -> list[Row]:
        return await self.db.alerts.alerts(group_id, limit=50)

    async def _done(self, job: Row, name: str, ticket: dict[str, Any]) -> None:
        async with self.db.transaction() as tx:
            await tx.alerts.set_ticket(job["group_id"], name, ticket)
            # A comment asked for again while this one ran stays due (its created_at moved on) to tell the newer state.
            await tx.tickets.done(job["id"], job["created_at"])
            await _record_outbound(tx, name, ok=True, error=None)
        if job["action"] == "create":
            self.metrics.created.labels(job["integration"]).inc()

    async def _retry(self, job: Row, error: str, retry_after: float | None) -> None:
        attempts = job["attempts"] + 1
        if attempts >= MAX_ATTEMPTS:
            await self._failed(job, f"gave up after {attempts} attempts: {error}")
            return
        delay = max(retry_after or 0.0, min(MAX_BACKOFF, 2.0**attempts) * random.uniform(0.5, 1.0))  # noqa: S311
        self.metrics.retried.labels(job["integration"]).inc()
        async with self.db.transaction() as tx:
            await tx.tickets.retry(job["id"], attempts, time.time() + delay, error[:MAX_ERROR_CHARS])
            await _mark_group(tx, job, error)
            await _record_outbound(tx, job["integration"], ok=False, error=error)

    async def _failed(self, job: Row, error: str) -> None:
        self.metrics.failed.labels(job["integration"]).inc()
        log.warning("ticket %s for group %s failed: %s", job["action"], job["group_id"], error)
        async with self.db.transaction() as tx:
            await tx.tickets.fail(job["id"], error[:MAX_ERROR_CHARS])
            await _mark_group(tx, job, error)
            await _record_outbound(tx, job["integration"], ok=False, error=error)


async def _mark_group(tx: Session, job: Row, error: str) -> None:
    await tx.alerts.set_ticket_error(job["group_id"], job["integration"], error[:MAX_ERROR_CHARS])


async def _record_outbound(tx: Session, name: str, *, ok: bool, error: str | None) -> None:
    """The integration's status shows whether its last outbound call worked (the operator mirrors it)."""
    await tx.resources.set_status_member(
        "integrations",
        name,
        "last_outbound",
        {"ok": ok, "at": now_text(), "error": error[:MAX_ERROR_CHARS] if error else None},
    )


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object of a 2xx reply. Anything else with a 2xx (a sleeping ServiceNow instance's HTML page, a proxy's
    login page) is the service not really answering: transient, retried later."""
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        kind = response.headers.get("content-type", "no content type").split(";")[0][:64]
        raise TransientDeliveryError(f"{what}: {response.status_code} without a JSON object ({kind})")
    return document


async def merge_credentials(db: Storage, name: str, updates: dict[str, str]) -> None:
    """Add or replace some of an integration's write-only credentials, keeping the others (OAuth tokens next to a
    webhook secret)."""
    async with db.transaction() as tx:
        row = await tx.resources.get("integrations", name)
        if row is None:
            raise Problem(404, "not-found", f"integrations {name!r} does not exist")
        stored = json.loads(row["secrets"])
        credentials = {**stored.get("credentials", {}), **updates}
        status = {**json.loads(row["status"]), "credentials_set": sorted(credentials)}
        await tx.resources.set_secrets(
            "integrations", name, dumps({**stored, "credentials": credentials}), dumps(status)
        )


def _raise_for(response: httpx.Response, what: str, secrets: Sequence[str] = ()) -> None:
    if response.status_code == 429 or response.status_code >= 500:
        retry = response.headers.get("Retry-After")
        raise TransientDeliveryError(
            f"{what}: {response.status_code}", float(retry) if retry and retry.isdigit() else None
        )
    if response.status_code >= 400:
        reason = _vendor_reason(response, secrets)
        raise PermanentDeliveryError(f"{what}: {response.status_code}" + (f" {reason}" if reason else ""))


_CREDENTIAL_LIKE = re.compile(r"(?i)\b(basic|bearer|token)\s+[A-Za-z0-9+/=._~-]{8,}")


def _vendor_reason(response: httpx.Response, secrets: Sequence[str]) -> str:
    """What the vendor says went wrong, from the fields its error body documents (Jira: `errorMessages`, `errors`;
    ServiceNow: `error.message`, `error.detail`), on one short line. Never the raw body and never a header: a proxy
    or a vendor may echo the request, Authorization included, so anything credential-like is blanked as well."""
    try:
        document = response.json()
    except ValueError:
        return ""
    if not isinstance(document, dict):
        return ""
    parts: list[str] = []
    messages = document.get("errorMessages")
    if isinstance(messages, list):
        parts += [str(message) for message in messages]
    errors = document.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {message}" for field, message in errors.items()]
    error = document.get("error")
    if isinstance(error, dict):
        parts += [str(error[key]) for key in ("message", "detail") if error.get(key)]
    text = " ".join(" ".join(parts).split())
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return _CREDENTIAL_LIKE.sub(lambda match: f"{match.group(1)} [redacted]", text)[:200]


def _secrets_of(credentials: Mapping[str, str], headers: Mapping[str, str]) -> list[str]:
    """What must never be kept or logged from a reply: every credential and the Authorization value built of them."""
    authorization = headers.get("Authorization", "")
    return [
        value for value in (*credentials.values(), authorization, authorization.partition(" ")[2]) if len(value) >= 4
    ]


def auth_headers(credentials: dict[str, str], user_key: str, secret_key: str) -> dict[str, str]:
    """An OAuth 2.0 bearer token when configured, else HTTP Basic (Jira: email + API token; ServiceNow: user)."""
    if credentials.get("oauth_token"):
        authorization = f"Bearer {credentials['oauth_token']}"
    else:
        pair = f"{credentials.get(user_key, '')}:{credentials.get(secret_key, '')}"
        authorization = f"Basic {base64.b64encode(pair.encode()).decode()}"
    return {"Authorization": authorization, "Accept": "application/json"}


def _adf(*paragraphs: str) -> dict[str, Any]:
    """Atlassian Document Format: what Jira Cloud REST v3 requires for rich-text fields."""
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text[:30000]}]} for text in paragraphs if text
        ],
    }


class JiraClient:
    def __init__(
        self, http: httpx.AsyncClient, target: TicketIntegration, oauth: atlassian.OAuthApp | None = None
    ) -> None:
        self.http = http
        self.site = str(target.settings["base_url"]).rstrip("/")
        cloud_id = target.credentials.get("oauth_cloud_id")
        # Connected by OAuth 2.0: the REST API is reached through Atlassian's gateway for the site's cloud id.
        self.base = oauth.jira_base(cloud_id) if oauth is not None and cloud_id else self.site
        self.settings = target.settings
        self.headers = auth_headers(target.credentials, "email", "api_token")
        self.secrets = _secrets_of(target.credentials, self.headers)

    @staticmethod
    def label(group: Row) -> str:
        return f"signalcraft-{group['id']}"

    async def find(self, group: Row) -> dict[str, Any] | None:
        jql = f'labels = "{self.label(group)}"'
        response = await self.http.get(
            f"{self.base}/rest/api/3/search/jql", params={"jql": jql, "fields": "key"}, headers=self.headers
        )
        _raise_for(response, "Jira search", self.secrets)
        issues = _json(response, "Jira search").get("issues", [])
        return self._ticket(issues[0]) if issues else None

    async def create(self, group: Row, alerts: list[Row]) -> dict[str, Any]:
        lines = [f"{alert['status']}: {alert['summary']}" for alert in alerts]
        fields: dict[str, Any] = {
            "project": {"key": self.settings["project_key"]},
            "issuetype": {"name": self.settings.get("issue_type", "Bug")},
            "summary": f"[{group['severity'].upper()}] {group['summary']}"[:255],
            "description": _adf(
                f"SignalCraft alert group {group['id']} ({group['integration']}, {group['alert_count']} alerts).",
                *lines,
            ),
            "labels": ["signalcraft", self.label(group)],
            "priority": {"name": JIRA_PRIORITY.get(group["severity"], "Medium")},
        }
        values = {key: str(group[key]) for key in ("id", "severity", "summary", "integration", "status")}
        for field_id, template in (self.settings.get("custom_fields") or {}).items():
            text = str(template)
            for key, value in values.items():
                text = text.replace(f"{{{key}}}", value)
            fields[field_id] = text
        response = await self.http.post(f"{self.base}/rest/api/3/issue", json={"fields": fields}, headers=self.headers)
        _raise_for(response, "Jira create issue", self.secrets)
        return self._ticket(_json(response, "Jira create issue"))

    def _ticket(self, issue: dict[str, Any]) -> dict[str, Any]:
        key = str(issue["key"])
        return {"system": "jira", "key": key, "id": str(issue.get("id", "")), "url": f"{self.site}/browse/{key}"}

    async def comment(self, ticket: dict[str, Any], group: Row) -> None:
        body = {"body": _adf(f"Alert group now has {group['alert_count']} alerts; status {group['status']}.")}
        response = await self.http.post(
            f"{self.base}/rest/api/3/issue/{ticket['key']}/comment", json=body, headers=self.headers
        )
        _raise_for(response, "Jira comment", self.secrets)

    async def resolve(self, ticket: dict[str, Any], group: Row) -> None:
        url = f"{self.base}/rest/api/3/issue/{ticket['key']}/transitions"
        response = await self.http.get(url, headers=self.headers)
        _raise_for(response, "Jira transitions", self.secrets)
        wanted = str(self.settings.get("resolve_transition", "Done")).lower()
        transition = next(
            (
                t
                for t in _json(response, "Jira transitions").get("transitions", [])
                if str(t.get("name", "")).lower() == wanted
            ),
            None,
        )
        if transition is None:
            raise PermanentDeliveryError(f"Jira issue {ticket['key']} has no transition named {wanted!r}")
        body = {
            "transition": {"id": transition["id"]},
            "update": {"comment": [{"add": {"body": _adf("Resolved in SignalCraft.")}}]},
        }
        _raise_for(await self.http.post(url, json=body, headers=self.headers), "Jira transition", self.secrets)


class ServiceNowClient:
    def __init__(self, http: httpx.AsyncClient, target: TicketIntegration) -> None:
        self.http = http
        self.base = str(target.settings["instance_url"]).rstrip("/")
        self.settings = target.settings
        self.headers = auth_headers(target.credentials, "username", "password")
        self.secrets = _secrets_of(target.credentials, self.headers)

    async def find(self, group: Row) -> dict[str, Any] | None:
        response = await self.http.get(
            f"{self.base}/api/now/table/incident",
            params={
                "sysparm_query": f"correlation_id={group['id']}",
                "sysparm_fields": "sys_id,number",
                "sysparm_limit": "1",
            },
            headers=self.headers,
        )
        _raise_for(response, "ServiceNow query", self.secrets)
        found = _json(response, "ServiceNow query").get("result", [])
        return self._ticket(found[0]) if found else None

    async def create(self, group: Row, alerts: list[Row]) -> dict[str, Any]:
        urgency = SERVICENOW_URGENCY.get(group["severity"], "2")
        body = {
            "short_description": f"[{group['severity'].upper()}] {group['summary']}"[:160],
            "description": "\n".join(f"{alert['status']}: {alert['summary']}" for alert in alerts)[:4000],
            "urgency": urgency,
            "impact": urgency,
            "correlation_id": group["id"],
            "correlation_display": "SignalCraft",
        }
        for key in ("assignment_group", "caller"):
            if self.settings.get(key):
                body["caller_id" if key == "caller" else key] = str(self.settings[key])
        response = await self.http.post(f"{self.base}/api/now/table/incident", json=body, headers=self.headers)
        if response.status_code == 200:
            # A hibernating developer instance answers 200 with an HTML page, not 201 with the record.
            raise TransientDeliveryError("ServiceNow answered 200 instead of 201 Created (instance asleep?)")
        _raise_for(response, "ServiceNow create incident", self.secrets)
        return self._ticket(_json(response, "ServiceNow create incident")["result"])

    def _ticket(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "system": "servicenow",
            "key": str(record["number"]),
            "id": str(record["sys_id"]),
            "url": f"{self.base}/nav_to.do?uri=incident.do?sys_id={record['sys_id']}",
        }

    async def comment(self, ticket: dict[str, Any], group: Row) -> None:
        note = {
            "work_notes": f"SignalCraft: the alert group now has {group['alert_count']} alerts ({group['status']})."
        }
        response = await self.http.patch(
            f"{self.base}/api/now/table/incident/{ticket['id']}", json=note, headers=self.headers
        )
        _raise_for(response, "ServiceNow work note", self.secrets)

    async def resolve(self, ticket: dict[str, Any], group: Row) -> None:
        body = {
            "state": "6",
            "close_code": str(self.settings.get("close_code", "Solved (Permanently)")),
            "close_notes": "Resolved in SignalCraft: every alert of the group resolved.",
        }
        response = await self.http.patch(
            f"{self.base}/api/now/table/incident/{ticket['id']}", json=body, headers=self.headers
        )
        _raise_for(response, "ServiceNow resolve", self.secrets)
