"""Monitoring tools' webhooks: `/api/v1/webhooks/<source>[/<token>]` and `/api/webhooks/<source>?token=`.

Each request is bound to one Integration of that type by its webhook token (compared in constant time), checked by the
source's own rules (HMAC, SNS signature, Basic/Bearer), parsed by the shared strategy and fed into the same grouping
path as the Events API. A payload that does not parse is refused with its reason and nothing is stored. Overload
answers 503 with Retry-After, never 429: Alertmanager retries only 5xx.
"""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from signalcraft.api.alerts import AlertStatus
from signalcraft.api.limits import MAX_WEBHOOK_BYTES
from signalcraft.ingest import pipeline
from signalcraft.ingest.errors import IngestError
from signalcraft.ingest.pipeline import Receiver
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.registry import SOURCE_NAMES, get_strategy
from signalcraft.server import ticketing
from signalcraft.server.alerts import ingest, set_group_status
from signalcraft.server.auth import now_text
from signalcraft.server.context import AppState, state_of
from signalcraft.server.dispatch import PrefixRouter
from signalcraft.server.problems import Problem, problem_responses

log = logging.getLogger("signalcraft.webhooks")
router = PrefixRouter(responses=problem_responses(400, 401, 403, 404, 413))


async def _integration(request: Request, source: str, token: str) -> tuple[str, dict[str, object], dict[str, str]]:
    """(name, settings, credentials) of the integration of type `source` whose webhook token is `token`."""
    rows = await state_of(request).db.resources.integrations_of_type(source)
    found = None
    for row in rows:
        stored = json.loads(row["secrets"]).get("webhook_token", "")
        # Compare against every candidate so the time taken does not depend on which one matched.
        if hmac.compare_digest(stored.encode(), token.encode()) and found is None:
            found = row
    if found is None:
        raise Problem(401, "unauthenticated", "no integration of this type has this webhook token")
    spec = json.loads(found["spec"])
    secrets = json.loads(found["secrets"])
    settings = spec.get(source.replace("-", "_")) or {}
    return found["name"], settings, dict(secrets.get("credentials", {}))


def _receiver(
    request: Request, source: str, name: str, *, token: str, settings: dict[str, object], credentials: dict[str, str]
) -> Receiver:
    """The integration the webhook token named, as the shared pipeline checks it.

    The token already chose the integration; it stays the sender credential unless the integration also has Basic
    auth or a signing secret, which the source's own check then requires on top.
    """
    secret = credentials.get("hmac_secret") or credentials.get("webhook_secret")
    checks = IntegrationCredentials(
        token=None if credentials.get("basic_password") else token,
        hmac_secret=secret,
        basic_username=credentials.get("basic_username"),
        basic_password=credentials.get("basic_password"),
        options=settings,
    )
    return Receiver(name, get_strategy(source, settings, sns=state_of(request).sns), lambda: checks)


async def _accepted(request: Request, source: str, token: str | None) -> pipeline.Accepted:
    """Authenticate, parse, limit (and confirm a subscription) with the pipeline the in-cluster webhook runs."""
    inbound, offered = await _inbound(request, token)
    if not offered:
        raise Problem(401, "unauthenticated", "a webhook token is required (in the URL, ?token= or Bearer)")
    name, settings, credentials = await _integration(request, source, offered)
    receiver = _receiver(request, source, name, token=offered, settings=settings, credentials=credentials)
    # The path's token counts like ?token= for the source's own check.
    inbound = InboundRequest(inbound.headers, inbound.body, {**inbound.query, "token": offered})
    try:
        accepted = await pipeline.run([receiver], inbound)
    except IngestError as exc:
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry)} if retry is not None else None
        refused = Problem(exc.status_code, exc.code, exc.reason, headers=headers)
        if exc.status_code < 500:
            await _record_rejection(state_of(request), name, refused)
        raise refused from None
    if accepted.confirmed is not None:
        log.info("confirmed SNS subscription %s", accepted.confirmed or "(no SubscriptionArn in the answer)")
    return accepted


async def receive(request: Request, source: str, token: str | None = None) -> Response:
    if source in ticketing.TICKET_SYSTEMS:
        return await _ticket_update(request, source, token)
    if source not in SOURCE_NAMES:
        raise Problem(404, "unknown-source", f"no webhook for {source!r}; known: {', '.join(SOURCE_NAMES)}")
    state = state_of(request)
    if state.webhook_slots.locked():
        raise Problem(503, "overloaded", "too many webhook requests in flight", headers={"Retry-After": "5"})
    async with state.webhook_slots:
        accepted = await _accepted(request, source, token)
        groups = await ingest(state.db, accepted.events) if accepted.events else []
    return JSONResponse({"accepted": len(accepted.events), "alert_groups": groups}, status_code=202)


async def _inbound(request: Request, token: str | None) -> tuple[InboundRequest, str]:
    """The request as strategies see it, and the webhook token it offers (path, ?token= or Bearer)."""
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise Problem(413, "payload-too-large", f"webhook bodies are limited to {MAX_WEBHOOK_BYTES} bytes")
    headers = {name.lower(): value for name, value in request.headers.items()}
    offered = token or request.query_params.get("token") or _bearer(headers)
    return InboundRequest(headers, body, dict(request.query_params)), offered


async def _ticket_update(request: Request, source: str, token: str | None) -> Response:
    """A Jira issue or ServiceNow incident changed: resolve (or re-open) the alert group it was created for."""
    accepted = await _accepted(request, source, token)
    name, events = accepted.receiver.integration, accepted.events
    settings = accepted.receiver.credentials().options
    if not events:
        return JSONResponse(
            {"status": "ignored", "reason": "the body does not say whether the ticket is done"}, status_code=202
        )
    ticket = events[0]
    db = state_of(request).db
    # Only groups this integration holds (or is creating) a ticket for: ServiceNow's correlation_id names a group
    # directly, which must not let one integration resolve another's groups, or any group at all.
    correlation = ticket.labels.get("correlation_id") if source == "servicenow" else None
    group = await db.alerts.group_of_ticket(name, ticket.labels["ticket_key"], correlation)
    if group is None:
        return JSONResponse({"status": "ignored", "reason": "no alert group has this ticket"}, status_code=202)
    done = ticket.status is AlertStatus.RESOLVED
    if done and group["status"] != AlertStatus.RESOLVED.value:
        await set_group_status(db, group["id"], AlertStatus.RESOLVED, from_ticket_system=name)
        return JSONResponse({"status": "resolved", "alert_group": group["id"]}, status_code=202)
    if not done and group["status"] == AlertStatus.RESOLVED.value and settings.get("reopen_on_ticket_reopen"):
        await set_group_status(db, group["id"], AlertStatus.FIRING, from_ticket_system=name)
        return JSONResponse({"status": "reopened", "alert_group": group["id"]}, status_code=202)
    return JSONResponse({"status": "unchanged", "alert_group": group["id"]}, status_code=202)


async def _record_rejection(state: AppState, name: str, refused: Problem) -> None:
    """The integration's status shows that its sender is failing (a wrong HMAC secret, an unparsable body), so the
    setup page can say "error — last request 401" instead of waiting for an alert that will never arrive."""
    rejected = {"at": now_text(), "status": refused.status, "code": refused.code}
    async with state.db.transaction() as tx:
        await tx.resources.set_status_member("integrations", name, "last_rejected_request", rejected)


def _bearer(headers: dict[str, str]) -> str:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


router.add_api_route("/api/v1/webhooks/{source}/{token}", receive, methods=["POST"], status_code=202)
router.add_api_route("/api/v1/webhooks/{source}", receive, methods=["POST"], status_code=202)
router.add_api_route("/api/webhooks/{source}", receive, methods=["POST"], status_code=202)
