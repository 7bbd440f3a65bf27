"""Alert groups and alerts: what normalized events become, from webhooks, the webhook forwarder or the Events API.

An alert group is keyed by (integration, group_key) and holds one alert per dedup key. Delivering the same event twice
has the effect of once; a group is resolved when all of its alerts are, and firing again when any alert fires. Events
that did not come through an alert policy's routing key go through the routing rules first (see `routing`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from signalcraft.api.alerts import Alert, AlertEvent, AlertEventBatch, AlertEventsAccepted, AlertGroup, AlertStatus
from signalcraft.api.specs import Severity
from signalcraft.server import routing, ticketing
from signalcraft.server.auth import new_id, now_text
from signalcraft.server.context import AuthenticatedRoute, principal_for, state_of
from signalcraft.server.dispatch import PrefixRouter
from signalcraft.server.idempotency import idempotent
from signalcraft.server.problems import Problem
from signalcraft.server.resources import decode_cursor, encode_cursor, filter_binding, utc_text
from signalcraft.server.storage import GroupFilter, Row, Session, Storage, dumps

router = PrefixRouter(tags=["alert-groups"], route_class=AuthenticatedRoute)


class AlertGroupPage(BaseModel):
    items: list[AlertGroup]
    next_cursor: str | None


def _group_out(row: Row) -> AlertGroup:
    data = dict(row)
    data["ticket"] = json.loads(row["ticket"]) if row["ticket"] else None
    return AlertGroup.model_validate(data)


async def ingest(
    db: Storage,
    events: Sequence[AlertEvent],
    *,
    alert_policy: str | None = None,
    escalation_policy: str | None = None,
) -> list[str]:
    """Upsert the events' groups and alerts in one transaction; return the affected group ids (in event order).

    Events that do not name an alert policy go through the routing rules, which may suppress them, change their
    severity or route them to a policy. Rules are evaluated before the write transaction, never under its lock.
    """
    touched: dict[str, None] = {}
    received: set[str] = set()
    routed: list[tuple[AlertEvent, str | None, str | None]] = []
    table = await routing.load(db) if alert_policy is None else None
    for original in events:
        event, policy, escalation = original, alert_policy, escalation_policy
        route = table.route(original) if table is not None else None
        if route is not None:
            if route.suppress:
                continue
            if route.severity is not None:
                event = original.model_copy(update={"severity": Severity(route.severity)})
            policy, escalation = route.alert_policy, route.escalation_policy
        routed.append((event, policy, escalation))
    now = now_text()
    async with db.transaction() as tx:
        systems = await ticketing.ticket_systems(tx)
        for event, policy, escalation in routed:
            group_id, new_group = await _upsert_group(tx, event, now, policy, escalation)
            known = not new_group and await tx.alerts.alert_exists(group_id, event.dedup_key)
            await tx.alerts.put_alert(
                {
                    "id": new_id("alt"),
                    "group_id": group_id,
                    "dedup_key": event.dedup_key,
                    "status": event.status.value,
                    "severity": event.severity.value,
                    "summary": event.summary,
                    "details": event.details,
                    "labels": dumps(event.labels),
                    "annotations": dumps(event.annotations),
                    "links": dumps([link.model_dump() for link in event.links]),
                    "images": dumps([image.model_dump() for image in event.images]),
                    "occurred_at": event.occurred_at.isoformat(),
                    "updated_at": now,
                }
            )
            before, after, severity = await _refresh_group(tx, group_id, now, added=int(not known))
            await ticketing.automate(
                tx, group_id, severity, new_group, new_alert=not known and not new_group, systems=systems
            )
            if after == AlertStatus.RESOLVED.value and before != after and not new_group:
                await ticketing.on_group_resolved(tx, group_id, from_ticket_system=None)
            touched.setdefault(group_id)
            if event.integration:
                received.add(event.integration)
        for integration in sorted(received):  # once per integration and request, not per event
            await tx.resources.set_status_member("integrations", integration, "last_event_received_at", now)
    return list(touched)


async def _upsert_group(
    tx: Session,
    event: AlertEvent,
    now: str,
    alert_policy: str | None,
    escalation_policy: str | None,
) -> tuple[str, bool]:
    integration = event.integration or event.source
    found = await tx.alerts.group_id(integration, event.group_key)
    if found is not None:
        await tx.alerts.touch_group(found, event.truncated_alerts, alert_policy, escalation_policy)
        return found, False
    group_id = new_id("grp")
    await tx.alerts.insert_group(
        {
            "id": group_id,
            "integration": integration,
            "group_key": event.group_key,
            "status": event.status.value,
            "severity": event.severity.value,
            "summary": event.summary,
            "source": event.source,
            "alert_policy": alert_policy,
            "escalation_policy": escalation_policy,
            "truncated_alerts": event.truncated_alerts,
            "created_at": now,
            "updated_at": now,
        }
    )
    return group_id, True


_SEVERITY_ORDER = [Severity.CRITICAL.value, Severity.ERROR.value, Severity.WARNING.value, Severity.INFO.value]


async def _refresh_group(tx: Session, group_id: str, now: str, *, added: int = 0) -> tuple[str, str, str]:
    """A group fires while any alert fires, is acknowledged when none fires but one is acknowledged, else resolved;
    its severity and summary are those of its worst alert still open (of all alerts once resolved).

    The cost does not grow with the group: a handful of lookups on the (group, status, severity) index, and the
    count kept up to date by `added` (alerts this change created). Returns (status before, after, severity after).
    """
    previous = await tx.alerts.group(group_id)
    assert previous is not None

    firing, acknowledged = await tx.alerts.presence(group_id)
    if firing:
        status = AlertStatus.FIRING.value
    elif acknowledged:
        status = AlertStatus.ACKNOWLEDGED.value
    else:
        status = AlertStatus.RESOLVED.value
    considered = (
        (AlertStatus.FIRING.value, AlertStatus.ACKNOWLEDGED.value)
        if status != AlertStatus.RESOLVED.value
        else (AlertStatus.RESOLVED.value,)
    )
    # One indexed lookup per severity, in one statement: the first alert of each, worst severity first.
    texts = await tx.alerts.first_summaries(group_id, considered, _SEVERITY_ORDER)
    found = [(severity, text) for severity, text in zip(_SEVERITY_ORDER, texts, strict=True) if text is not None]
    severity_after, summary = found[0] if found else (str(previous["severity"]), str(previous["summary"]))
    await tx.alerts.summarize_group(
        group_id,
        status=status,
        severity=severity_after,
        summary=summary,
        alert_count=int(previous["alert_count"]) + added,
        now=now,
    )
    return str(previous["status"]), status, severity_after


async def set_group_status(
    db: Storage, group_id: str, status: AlertStatus, *, from_ticket_system: str | None = None
) -> AlertGroup:
    """Acknowledge, resolve or (from a reopened ticket) re-fire a whole group."""
    now = now_text()
    async with db.transaction() as tx:
        if not await tx.alerts.group_exists(group_id):
            raise Problem(404, "not-found", f"alert group {group_id!r} does not exist")
        unless = "resolved" if status is not AlertStatus.FIRING else "firing"
        await tx.alerts.set_alert_statuses(group_id, status.value, unless=unless, now=now)
        before, after, _ = await _refresh_group(tx, group_id, now)
        if after == AlertStatus.RESOLVED.value and before != after:
            await ticketing.on_group_resolved(tx, group_id, from_ticket_system=from_ticket_system)
        row = await tx.alerts.group(group_id)
    assert row is not None
    return _group_out(row)


# ------------------------------------------------------------------- authenticated routes


@router.post("/v1/alert-events", status_code=202, response_model=AlertEventsAccepted, tags=["events"])
async def post_alert_events(request: Request, batch: AlertEventBatch) -> Response:
    """Normalized events (the in-cluster webhook's forwarder); send an Idempotency-Key per batch."""
    principal_for(request).require("events", "write")

    async def handle() -> Response:
        groups = await ingest(state_of(request).db, batch.events)
        accepted = AlertEventsAccepted(accepted=len(batch.events), alert_groups=groups)
        return JSONResponse(accepted.model_dump(mode="json"), status_code=202)

    return await idempotent(request, handle)


@router.get("/v1/alert-groups", response_model=AlertGroupPage)
async def list_alert_groups(  # noqa: PLR0917 - one parameter per filter
    request: Request,
    status: AlertStatus | None = None,
    integration: Annotated[str | None, Query(max_length=253)] = None,
    alert_policy: Annotated[str | None, Query(max_length=253)] = None,
    updated_since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AlertGroupPage:
    """Alert groups by id with a cursor; filters: status, integration, alert_policy, updated_since."""
    principal_for(request).require("alert_groups", "read")
    since = utc_text(updated_since) if updated_since is not None else None
    binding = filter_binding(status=status, integration=integration, alert_policy=alert_policy, since=since)
    where = GroupFilter(
        status=status.value if status is not None else None,
        integration=integration,
        alert_policy=alert_policy,
        updated_since=since,
        after=decode_cursor(cursor, binding) if cursor else None,
    )
    rows = await state_of(request).db.alerts.page(where, limit + 1)
    next_cursor = encode_cursor(rows[limit - 1]["id"], binding) if len(rows) > limit else None
    return AlertGroupPage(items=[_group_out(row) for row in rows[:limit]], next_cursor=next_cursor)


@router.get("/v1/alert-groups/{group_id}", response_model=AlertGroup)
async def get_alert_group(request: Request, group_id: str) -> AlertGroup:
    principal_for(request).require("alert_groups", "read")
    row = await state_of(request).db.alerts.group(group_id)
    if row is None:
        raise Problem(404, "not-found", f"alert group {group_id!r} does not exist")
    return _group_out(row)


@router.get("/v1/alert-groups/{group_id}/alerts", response_model=list[Alert])
async def list_alerts(request: Request, group_id: str) -> list[Alert]:
    principal_for(request).require("alert_groups", "read")
    db = state_of(request).db
    if not await db.alerts.group_exists(group_id):
        raise Problem(404, "not-found", f"alert group {group_id!r} does not exist")
    rows = await db.alerts.alerts(group_id)
    return [
        Alert.model_validate(
            {
                **dict(row),
                **{key: json.loads(row[key]) for key in ("labels", "annotations", "links", "images")},
            }
        )
        for row in rows
    ]


def _group_action(status: AlertStatus) -> Callable[[Request, str], Any]:
    async def act(request: Request, group_id: str) -> Response:
        principal_for(request).require("alert_groups", "write")

        async def handle() -> Response:
            group = await set_group_status(state_of(request).db, group_id, status)
            return JSONResponse(group.model_dump(mode="json"))

        return await idempotent(request, handle)

    return act


router.add_api_route(
    "/v1/alert-groups/{group_id}:acknowledge",
    _group_action(AlertStatus.ACKNOWLEDGED),
    methods=["POST"],
    response_model=AlertGroup,
    summary="Acknowledge every unresolved alert of the group",
)
router.add_api_route(
    "/v1/alert-groups/{group_id}:resolve",
    _group_action(AlertStatus.RESOLVED),
    methods=["POST"],
    response_model=AlertGroup,
    summary="Resolve every alert of the group",
)


class CreateTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration: str = Field(min_length=1, max_length=253, description="A jira or servicenow integration.")


@router.post("/v1/alert-groups/{group_id}:create-ticket", status_code=202, response_model=AlertGroup)
async def create_ticket(request: Request, group_id: str, body: CreateTicket) -> Response:
    """The "Create ticket" button: queue one ticket for the group (a second request is a no-op)."""
    principal_for(request).require("alert_groups", "write")

    async def handle() -> Response:
        db = state_of(request).db
        await ticketing.integration(db, body.integration)
        async with db.transaction() as tx:
            if not await tx.alerts.group_exists(group_id):
                raise Problem(404, "not-found", f"alert group {group_id!r} does not exist")
            await ticketing.enqueue(tx, group_id, body.integration, "create")
        row = await db.alerts.group(group_id)
        assert row is not None
        return JSONResponse(_group_out(row).model_dump(mode="json"), status_code=202)

    return await idempotent(request, handle)


__all__ = ["ingest", "router", "set_group_status"]
