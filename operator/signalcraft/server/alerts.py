"""Alert groups and alerts: what normalized events become, from the webhook forwarder or the Events API.

An alert group is keyed by (integration, group_key) and holds one alert per dedup key. Delivering the same event twice
has the effect of once; a group is resolved when all of its alerts are, and firing again when any alert fires.
"""

from __future__ import annotations

import json
import operator
import secrets
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import aiosqlite
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from signalcraft.ingest.model import AlertEvent, AlertStatus, Severity
from signalcraft.server import ticketing
from signalcraft.server.auth import new_id, now_text
from signalcraft.server.context import principal_for, require_principal, state_of
from signalcraft.server.idempotency import idempotent
from signalcraft.server.problems import Problem
from signalcraft.server.resources import decode_cursor, encode_cursor
from signalcraft.server.storage import Database, dumps

MAX_EVENT_BYTES = 512 * 1024

router = APIRouter()
public_router = APIRouter()


class AlertEventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[AlertEvent] = Field(min_length=1, max_length=1000)


class AlertGroupOut(BaseModel):
    id: str
    integration: str
    group_key: str
    status: str
    severity: str
    summary: str
    source: str
    alert_policy: str | None
    escalation_policy: str | None
    alert_count: int
    truncated_alerts: int
    ticket: dict[str, Any] | None
    created_at: str
    updated_at: str
    resolved_at: str | None


class AlertGroupPage(BaseModel):
    items: list[AlertGroupOut]
    next_cursor: str | None


class AlertOut(BaseModel):
    id: str
    dedup_key: str
    status: str
    severity: str
    summary: str
    details: str
    labels: dict[str, str]
    annotations: dict[str, str]
    links: list[dict[str, str]]
    images: list[dict[str, str]]
    occurred_at: str
    updated_at: str


def _group_out(row: aiosqlite.Row) -> AlertGroupOut:
    data = dict(row)
    data["ticket"] = json.loads(row["ticket"]) if row["ticket"] else None
    return AlertGroupOut.model_validate(data)


async def ingest(
    db: Database,
    events: Sequence[AlertEvent],
    *,
    alert_policy: str | None = None,
    escalation_policy: str | None = None,
) -> list[str]:
    """Upsert the events' groups and alerts in one transaction; return the affected group ids (in event order)."""
    touched: list[str] = []
    now = now_text()
    async with db.transaction() as tx:
        for event in events:
            group_id, new_group = await _upsert_group(tx, event, now, alert_policy, escalation_policy)
            known = await (
                await tx.execute(
                    "SELECT 1 FROM alerts WHERE group_id = ? AND dedup_key = ?", (group_id, event.dedup_key)
                )
            ).fetchone()
            await tx.execute(
                "INSERT INTO alerts (id, group_id, dedup_key, status, severity, summary, details, labels, annotations, "
                "links, images, occurred_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (group_id, dedup_key) DO UPDATE SET status = excluded.status, "
                "severity = excluded.severity, summary = excluded.summary, details = excluded.details, "
                "labels = excluded.labels, annotations = excluded.annotations, links = excluded.links, "
                "images = excluded.images, occurred_at = excluded.occurred_at, updated_at = excluded.updated_at",
                (
                    new_id("alt"),
                    group_id,
                    event.dedup_key,
                    event.status.value,
                    event.severity.value,
                    event.summary,
                    event.details,
                    dumps(event.labels),
                    dumps(event.annotations),
                    dumps([link.model_dump() for link in event.links]),
                    dumps([image.model_dump() for image in event.images]),
                    event.occurred_at.isoformat(),
                    now,
                ),
            )
            before, after, severity = await _refresh_group(tx, group_id, now)
            await ticketing.automate(tx, group_id, severity, new_group, new_alert=known is None and not new_group)
            if after == AlertStatus.RESOLVED.value and before != after and not new_group:
                await ticketing.on_group_resolved(tx, group_id, from_ticket_system=None)
            if group_id not in touched:
                touched.append(group_id)
            if event.integration:
                await tx.execute(
                    "UPDATE resources SET status = json_set(status, '$.last_event_received_at', ?) "
                    "WHERE collection = 'integrations' AND name = ?",
                    (now, event.integration),
                )
    return touched


async def _upsert_group(
    tx: aiosqlite.Connection,
    event: AlertEvent,
    now: str,
    alert_policy: str | None,
    escalation_policy: str | None,
) -> tuple[str, bool]:
    integration = event.integration or event.source
    cursor = await tx.execute(
        "SELECT id FROM alert_groups WHERE integration = ? AND group_key = ?", (integration, event.group_key)
    )
    found = await cursor.fetchone()
    if found is not None:
        await tx.execute(
            "UPDATE alert_groups SET truncated_alerts = max(truncated_alerts, ?) WHERE id = ?",
            (event.truncated_alerts, found["id"]),
        )
        group_id: str = found["id"]
        return group_id, False
    group_id = new_id("grp")
    await tx.execute(
        "INSERT INTO alert_groups (id, integration, group_key, status, severity, summary, source, alert_policy, "
        "escalation_policy, truncated_alerts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            group_id,
            integration,
            event.group_key,
            event.status.value,
            event.severity.value,
            event.summary,
            event.source,
            alert_policy,
            escalation_policy,
            event.truncated_alerts,
            now,
            now,
        ),
    )
    return group_id, True


_SEVERITY_ORDER = [Severity.CRITICAL.value, Severity.ERROR.value, Severity.WARNING.value, Severity.INFO.value]


async def _refresh_group(tx: aiosqlite.Connection, group_id: str, now: str) -> tuple[str, str, str]:
    """A group fires while any alert fires, is acknowledged when none fires but one is acknowledged, else resolved.

    Returns (status before, status after, severity after).
    """
    previous = await (await tx.execute("SELECT status FROM alert_groups WHERE id = ?", (group_id,))).fetchone()
    cursor = await tx.execute("SELECT status, severity, summary FROM alerts WHERE group_id = ?", (group_id,))
    alerts = list(await cursor.fetchall())
    statuses = {row["status"] for row in alerts}
    if AlertStatus.FIRING.value in statuses:
        status = AlertStatus.FIRING.value
    elif AlertStatus.ACKNOWLEDGED.value in statuses:
        status = AlertStatus.ACKNOWLEDGED.value
    else:
        status = AlertStatus.RESOLVED.value
    active = [row for row in alerts if row["status"] != AlertStatus.RESOLVED.value] or alerts
    worst = min(active, key=lambda row: _SEVERITY_ORDER.index(row["severity"]))
    await tx.execute(
        "UPDATE alert_groups SET status = ?, severity = ?, summary = ?, alert_count = ?, updated_at = ?, "
        "resolved_at = CASE WHEN ? = 'resolved' THEN coalesce(resolved_at, ?) ELSE NULL END WHERE id = ?",
        (status, worst["severity"], worst["summary"], len(alerts), now, status, now, group_id),
    )
    return (previous["status"] if previous is not None else status), status, str(worst["severity"])


async def set_group_status(
    db: Database, group_id: str, status: AlertStatus, *, from_ticket_system: str | None = None
) -> AlertGroupOut:
    """Acknowledge, resolve or (from a reopened ticket) re-fire a whole group."""
    now = now_text()
    async with db.transaction() as tx:
        cursor = await tx.execute("SELECT id FROM alert_groups WHERE id = ?", (group_id,))
        if await cursor.fetchone() is None:
            raise Problem(404, "not-found", f"alert group {group_id!r} does not exist")
        unless = "resolved" if status is not AlertStatus.FIRING else "firing"
        await tx.execute(
            "UPDATE alerts SET status = ?, updated_at = ? WHERE group_id = ? AND status != ?",
            (status.value, now, group_id, unless),
        )
        before, after, _ = await _refresh_group(tx, group_id, now)
        if after == AlertStatus.RESOLVED.value and before != after:
            await ticketing.on_group_resolved(tx, group_id, from_ticket_system=from_ticket_system)
        cursor = await tx.execute("SELECT * FROM alert_groups WHERE id = ?", (group_id,))
        row = await cursor.fetchone()
    assert row is not None
    return _group_out(row)


# ------------------------------------------------------------------- authenticated routes


@router.post("/v1/alert-events", status_code=202)
async def post_alert_events(request: Request, batch: AlertEventBatch) -> Response:
    """Normalized events (the in-cluster webhook's forwarder); send an Idempotency-Key per batch."""
    principal_for(request).require("events", "write")

    async def handle() -> Response:
        groups = await ingest(state_of(request).db, batch.events)
        return JSONResponse({"accepted": len(batch.events), "alert_groups": groups}, status_code=202)

    return await idempotent(request, handle)


@router.get("/v1/alert-groups", response_model=AlertGroupPage)
async def list_alert_groups(
    request: Request,
    status: Literal["firing", "acknowledged", "resolved"] | None = None,
    integration: Annotated[str | None, Query(max_length=253)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AlertGroupPage:
    principal_for(request).require("alert_groups", "read")
    where: list[str] = ["1 = 1"]
    args: list[str] = []
    if status:
        where.append("status = ?")
        args.append(status)
    if integration:
        where.append("integration = ?")
        args.append(integration)
    if cursor:
        args.append(decode_cursor(cursor))
        where.append("id > ?")
    sql = f"SELECT * FROM alert_groups WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"  # noqa: S608
    rows = await state_of(request).db.fetch_all(sql, (*args, limit + 1))
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return AlertGroupPage(items=[_group_out(row) for row in rows[:limit]], next_cursor=next_cursor)


@router.get("/v1/alert-groups/{group_id}", response_model=AlertGroupOut)
async def get_alert_group(request: Request, group_id: str) -> AlertGroupOut:
    principal_for(request).require("alert_groups", "read")
    row = await state_of(request).db.fetch_one("SELECT * FROM alert_groups WHERE id = ?", (group_id,))
    if row is None:
        raise Problem(404, "not-found", f"alert group {group_id!r} does not exist")
    return _group_out(row)


@router.get("/v1/alert-groups/{group_id}/alerts", response_model=list[AlertOut])
async def list_alerts(request: Request, group_id: str) -> list[AlertOut]:
    principal_for(request).require("alert_groups", "read")
    db = state_of(request).db
    if await db.fetch_one("SELECT id FROM alert_groups WHERE id = ?", (group_id,)) is None:
        raise Problem(404, "not-found", f"alert group {group_id!r} does not exist")
    rows = await db.fetch_all("SELECT * FROM alerts WHERE group_id = ? ORDER BY dedup_key", (group_id,))
    return [
        AlertOut.model_validate(
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
    response_model=AlertGroupOut,
    summary="Acknowledge every unresolved alert of the group",
)
router.add_api_route(
    "/v1/alert-groups/{group_id}:resolve",
    _group_action(AlertStatus.RESOLVED),
    methods=["POST"],
    response_model=AlertGroupOut,
    summary="Resolve every alert of the group",
)


class CreateTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration: str = Field(min_length=1, max_length=253, description="A jira or servicenow integration.")


@router.post("/v1/alert-groups/{group_id}:create-ticket", status_code=202, response_model=AlertGroupOut)
async def create_ticket(request: Request, group_id: str, body: CreateTicket) -> Response:
    """The "Create ticket" button: queue one ticket for the group (a second request is a no-op)."""
    principal_for(request).require("alert_groups", "write")

    async def handle() -> Response:
        db = state_of(request).db
        await ticketing.integration(db, body.integration)
        async with db.transaction() as tx:
            if (await (await tx.execute("SELECT 1 FROM alert_groups WHERE id = ?", (group_id,))).fetchone()) is None:
                raise Problem(404, "not-found", f"alert group {group_id!r} does not exist")
            await ticketing.enqueue(tx, group_id, body.integration, "create")
        row = await db.fetch_one("SELECT * FROM alert_groups WHERE id = ?", (group_id,))
        assert row is not None
        return JSONResponse(_group_out(row).model_dump(mode="json"), status_code=202)

    return await idempotent(request, handle)


# --------------------------------------------------------- Events API (PagerDuty Events v2)


class PagerDutyPayload(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1, max_length=255)
    severity: Severity
    timestamp: str | None = None
    component: str | None = Field(default=None, max_length=255)
    group: str | None = Field(default=None, max_length=255)
    class_: str | None = Field(default=None, alias="class", max_length=255)
    custom_details: dict[str, Any] | str | None = None


class PagerDutyLink(BaseModel):
    href: str = Field(max_length=2048)
    text: str = Field(default="", max_length=1024)


class PagerDutyImage(BaseModel):
    src: str = Field(max_length=2048)
    href: str = Field(default="", max_length=2048)
    alt: str = Field(default="", max_length=1024)


class PagerDutyEvent(BaseModel):
    routing_key: str = Field(min_length=1, max_length=128)
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)
    payload: PagerDutyPayload | None = None
    images: list[PagerDutyImage] = Field(default_factory=list, max_length=50)
    links: list[PagerDutyLink] = Field(default_factory=list, max_length=50)
    client: str | None = Field(default=None, max_length=255)
    client_url: str | None = Field(default=None, max_length=2048)


def _invalid(message: str, errors: list[str], status: int = 400) -> JSONResponse:
    return JSONResponse({"status": "invalid event", "message": message, "errors": errors}, status_code=status)


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "ne": operator.ne,
}


def conditions_hold(conditions: list[dict[str, Any]], details: dict[str, Any] | str | None) -> bool:
    """A policy's metric_threshold conditions, evaluated on the event's custom_details (all must hold)."""
    if not conditions:
        return True
    if not isinstance(details, dict):
        return False
    for condition in conditions:
        observed = details.get(condition["metric"])
        if not isinstance(observed, int | float) or isinstance(observed, bool):
            return False
        if not _COMPARE[condition["operator"]](float(observed), float(condition["value"])):
            return False
    return True


async def _events_api(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_EVENT_BYTES:
        return _invalid("Event object is too large", [f"the body is over {MAX_EVENT_BYTES} bytes"], 413)
    try:
        event = PagerDutyEvent.model_validate_json(body)
    except ValidationError as exc:
        errors = [f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()]
        return _invalid("Event object is invalid", errors)
    if event.event_action == "trigger" and event.payload is None:
        return _invalid("Event object is invalid", ["'payload' is missing and is required for trigger"])
    if event.event_action != "trigger" and event.dedup_key is None:
        return _invalid("Event object is invalid", ["'dedup_key' is required to acknowledge or resolve"])
    db = state_of(request).db
    policy = await db.fetch_one(
        "SELECT name, spec FROM resources "
        "WHERE collection = 'alert-policies' AND json_extract(spec, '$.routing_key') = ?",
        (event.routing_key,),
    )
    if policy is None:
        return _invalid("Event object is invalid", ["unknown routing_key"])
    spec = json.loads(policy["spec"])
    dedup_key = event.dedup_key or secrets.token_hex(16)
    if event.event_action == "trigger":
        assert event.payload is not None
        if not conditions_hold(spec.get("conditions", []), event.payload.custom_details):
            return JSONResponse(
                {
                    "status": "success",
                    "message": "Event suppressed: the policy's conditions do not hold",
                    "dedup_key": dedup_key,
                },
                status_code=202,
            )
    existing = await db.fetch_one(
        "SELECT summary, severity FROM alert_groups WHERE integration = ? AND group_key = ?",
        (f"alert-policy:{policy['name']}", dedup_key),
    )
    if event.event_action != "trigger" and existing is None:
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status_code=202
        )
    payload = event.payload
    details = payload.custom_details if payload is not None else None
    normalized = AlertEvent(
        source="events-api",
        integration=f"alert-policy:{policy['name']}",
        group_key=dedup_key,
        dedup_key=dedup_key,
        status={
            "trigger": AlertStatus.FIRING,
            "acknowledge": AlertStatus.ACKNOWLEDGED,
            "resolve": AlertStatus.RESOLVED,
        }[event.event_action],
        severity=Severity(spec["severity"]),
        summary=payload.summary if payload is not None else existing["summary"],  # type: ignore[index]
        details=json.dumps(details)[:16384] if details is not None else "",
        labels={"source": payload.source} if payload is not None else {},
        links=[link.model_dump() for link in event.links],
        images=[image.model_dump() for image in event.images],
        occurred_at=now_text(),
    )
    escalation = (spec.get("escalation_policy") or {}).get("name")
    await ingest(db, [normalized], alert_policy=policy["name"], escalation_policy=escalation)
    return JSONResponse({"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status_code=202)


class EventAccepted(BaseModel):
    status: Literal["success"]
    message: str
    dedup_key: str


class EventRefused(BaseModel):
    status: Literal["invalid event"]
    message: str
    errors: list[str]


_EVENTS_API_DOCS: dict[str, Any] = {
    "status_code": 202,
    "response_model": EventAccepted,
    "responses": {400: {"model": EventRefused}, 413: {"model": EventRefused}},
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": PagerDutyEvent.model_json_schema(ref_template="#/$defs/{model}")}
            },
        },
        "security": [],
    },
}
public_router.add_api_route(
    "/v1/events",
    _events_api,
    methods=["POST"],
    summary="Events API (PagerDuty Events v2 compatible)",
    **_EVENTS_API_DOCS,
)
public_router.add_api_route(
    "/v2/enqueue", _events_api, methods=["POST"], summary="PagerDuty Events v2 path, same handler", **_EVENTS_API_DOCS
)

__all__ = ["ingest", "public_router", "require_principal", "router", "set_group_status"]
