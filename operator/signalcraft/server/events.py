"""The Events API: PagerDuty Events v2 bodies on `POST /v1/events` and on the PagerDuty path `POST /v2/enqueue`.

The routing key selects where an event goes: an alert policy's `routing_key` (the event must pass the policy's
conditions, and its alert group carries the policy's severity and escalation policy), or an integration's generated
integration key (the event goes through the routing rules like any integration's traffic). Alerts are grouped by
dedup key. Errors are problem+json on `/v1/events` and PagerDuty's `{"status", "message", "errors"}` on `/v2/enqueue`,
so PagerDuty clients (Alertmanager's `pagerduty_configs`) work unchanged. Requests are limited per routing key (429 +
Retry-After, which PagerDuty senders retry); an Idempotency-Key, scoped to the routing key, makes a retry act once.
"""

from __future__ import annotations

import hashlib
import json
import operator
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from signalcraft.api.alerts import (
    AlertEvent,
    AlertStatus,
    EventAccepted,
    EventRefused,
    PagerDutyEvent,
    PagerDutyPayload,
)
from signalcraft.api.limits import MAX_EVENT_BYTES
from signalcraft.api.specs import Severity
from signalcraft.server.alerts import ingest
from signalcraft.server.auth import new_id
from signalcraft.server.context import state_of
from signalcraft.server.dispatch import PrefixRouter
from signalcraft.server.idempotency import idempotent
from signalcraft.server.problems import MEDIA_TYPE, Problem, pointer, problem_response
from signalcraft.server.storage import InvalidText, Row, Storage

router = PrefixRouter(tags=["events"])


class EventProblem(Exception):
    """A refusal, rendered per path: problem+json on /v1/events, PagerDuty's shape on /v2/enqueue."""

    def __init__(self, problem: Problem, pagerduty_status: str, message: str) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.pagerduty_status = pagerduty_status
        self.message = message

    def response(self, request: Request, pagerduty: bool) -> Response:
        if not pagerduty:
            return problem_response(self.problem, request)
        errors = [
            f"{error['pointer'].lstrip('/').replace('/', '.')}: {error['detail']}" for error in self.problem.errors
        ]
        body = EventRefused(status=self.pagerduty_status, message=self.message, errors=errors or [self.problem.detail])
        return JSONResponse(body.model_dump(), status_code=self.problem.status, headers=self.problem.headers)


def _invalid(detail: str, errors: list[dict[str, str]]) -> EventProblem:
    problem = Problem(400, "invalid-event", detail, title="Invalid event", errors=errors)
    return EventProblem(problem, "invalid event", "Event object is invalid")


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


def _parse(body: bytes) -> PagerDutyEvent:
    try:
        event = PagerDutyEvent.model_validate_json(body)
    except ValidationError as exc:
        errors = [
            {"pointer": pointer(error["loc"]) if error["type"] != "json_invalid" else "", "detail": error["msg"]}
            for error in exc.errors()
        ]
        raise _invalid("the event does not validate", errors) from None
    if event.event_action == "trigger" and event.payload is None:
        raise _invalid("a trigger needs a payload", [{"pointer": "/payload", "detail": "required for trigger"}])
    if event.event_action != "trigger" and event.dedup_key is None:
        detail = f"{event.event_action} needs the dedup_key of the alert"
        raise _invalid(detail, [{"pointer": "/dedup_key", "detail": "required to acknowledge or resolve"}])
    return event


async def _target(db: Storage, routing_key: str) -> tuple[str, Row]:
    """('policy', row) for an alert policy's routing key, ('integration', row) for an integration key."""
    policy = await db.resources.by_routing_key(routing_key)
    if policy is not None:
        return "policy", policy
    integration = await db.resources.by_integration_key(routing_key)
    if integration is not None:
        return "integration", integration
    raise _invalid(
        "no alert policy or integration has this routing key",
        [{"pointer": "/routing_key", "detail": "unknown routing_key"}],
    )


def _labels(payload: PagerDutyPayload | None) -> dict[str, str]:
    if payload is None:
        return {}
    labels = {"source": payload.source}
    for name, value in (("component", payload.component), ("group", payload.group), ("class", payload.class_)):
        if value:
            labels[name] = value
    return labels


async def _accept(request: Request, event: PagerDutyEvent, kind: str, target: Row) -> Response:
    db = state_of(request).db
    spec: Mapping[str, Any] = json.loads(target["spec"])
    dedup_key = event.dedup_key or secrets.token_hex(16)
    event_id = new_id("evt")
    payload = event.payload
    if (
        kind == "policy"
        and payload is not None
        and not conditions_hold(spec.get("conditions", []), payload.custom_details)
    ):
        accepted = EventAccepted(
            status="success",
            message="Event suppressed: the policy's conditions do not hold",
            dedup_key=dedup_key,
            event_id=event_id,
        )
        return JSONResponse(accepted.model_dump(), status_code=202)
    integration = f"alert-policy:{target['name']}" if kind == "policy" else target["name"]
    # An acknowledge or resolve carries no payload: the alert keeps what its trigger said.
    existing = await db.alerts.alert_by_key(integration, dedup_key, dedup_key)
    if event.event_action == "trigger" or existing is not None:
        if payload is not None:
            severity = Severity(spec["severity"]) if kind == "policy" else payload.severity
            summary, labels = payload.summary, _labels(payload)
            details = json.dumps(payload.custom_details)[:16384] if payload.custom_details is not None else ""
            occurred = payload.timestamp or datetime.now(UTC)
        else:
            assert existing is not None
            severity, summary, details = Severity(existing["severity"]), existing["summary"], existing["details"]
            labels, occurred = json.loads(existing["labels"]), datetime.now(UTC)
        links = [link.model_dump() for link in event.links] or (json.loads(existing["links"]) if existing else [])
        images = [image.model_dump() for image in event.images] or (json.loads(existing["images"]) if existing else [])
        normalized = AlertEvent(
            source="events-api",
            integration=integration,
            group_key=dedup_key,
            dedup_key=dedup_key,
            status={
                "trigger": AlertStatus.FIRING,
                "acknowledge": AlertStatus.ACKNOWLEDGED,
                "resolve": AlertStatus.RESOLVED,
            }[event.event_action],
            severity=severity,
            summary=summary,
            details=details,
            labels=labels,
            links=links,
            images=images,
            occurred_at=occurred,
        )
        if kind == "policy":
            escalation = spec.get("escalation_policy") or {}
            await ingest(
                db,
                [normalized],
                alert_policy=target["name"],
                escalation_policy=escalation.get("name") or escalation.get("id"),
            )
        else:
            await ingest(db, [normalized])
    accepted = EventAccepted(status="success", message="Event processed", dedup_key=dedup_key, event_id=event_id)
    return JSONResponse(accepted.model_dump(), status_code=202)


async def _receive(request: Request, *, pagerduty: bool) -> Response:
    try:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_EVENT_BYTES:
            raise _too_large()
        body = await request.body()
        if len(body) > MAX_EVENT_BYTES:
            raise _too_large()
        event = _parse(body)
        state = state_of(request)
        try:
            kind, target = await _target(state.db, event.routing_key)
        except EventProblem:
            _count_unknown_key(request)
            raise
        scope = "routing-key:" + hashlib.sha256(event.routing_key.encode()).hexdigest()[:32]
        try:
            state.events_rate_limiter.check(scope, request)
        except Problem as throttled:
            raise EventProblem(
                throttled, "throttle event", "Requests for this routing key are arriving too quickly"
            ) from None

        async def handle() -> Response:
            try:
                return await _accept(request, event, kind, target)
            except EventProblem as refused:
                return refused.response(request, pagerduty)
            except InvalidText:
                return _unstorable().response(request, pagerduty)

        return await idempotent(request, handle, scope=scope)
    except EventProblem as refused:
        return refused.response(request, pagerduty)
    except InvalidText:
        return _unstorable().response(request, pagerduty)


def _unstorable() -> EventProblem:
    """Text the database cannot hold (a NUL character, on PostgreSQL), refused in the shape of the path."""
    return _invalid("the event holds a NUL character (U+0000), which is not stored as text", [])


def _count_unknown_key(request: Request) -> None:
    """An event for a routing key nobody has costs its client address a token: guessing keys is slow, and the
    guesser's events for real keys are not held up."""
    address = request.client.host if request.client is not None else "unknown"
    try:
        state_of(request).unknown_key_limiter.check(f"address:{address}", request)
    except Problem as throttled:
        problem = Problem(
            429,
            "rate-limited",
            "too many events for unknown routing keys from this address; "
            f"retry after {throttled.headers['Retry-After']}s",
            headers=throttled.headers,
        )
        raise EventProblem(problem, "throttle event", "Too many events for unknown routing keys") from None


def _too_large() -> EventProblem:
    problem = Problem(413, "payload-too-large", f"events are limited to {MAX_EVENT_BYTES} bytes")
    return EventProblem(problem, "invalid event", "Event object is too large")


async def receive_event(request: Request) -> Response:
    return await _receive(request, pagerduty=False)


async def enqueue_pagerduty(request: Request) -> Response:
    return await _receive(request, pagerduty=True)


def _documented(refusal: dict[str, Any]) -> dict[str, Any]:
    return {
        "status_code": 202,
        "response_model": EventAccepted,
        "responses": {status: refusal for status in (400, 413, 429)},
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PagerDutyEvent"}}},
            },
            "security": [],
        },
    }


PROBLEM = {
    "description": "Refused",
    "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
}
PAGERDUTY_REFUSAL = {
    "description": "Refused (PagerDuty's shape)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventRefused"}}},
}
router.add_api_route(
    "/v1/events",
    receive_event,
    methods=["POST"],
    summary="Events API (PagerDuty Events v2 bodies; problem+json errors)",
    **_documented(PROBLEM),
)
router.add_api_route(
    "/v2/enqueue",
    enqueue_pagerduty,
    methods=["POST"],
    summary="PagerDuty Events v2 path: same events, PagerDuty's error shape",
    **_documented(PAGERDUTY_REFUSAL),
)


def openapi_schemas() -> dict[str, Any]:
    """Component schemas the Events API routes refer to (their bodies are parsed by hand, for the 413 and 400s)."""
    document = PagerDutyEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = document.pop("$defs", {})
    schemas["PagerDutyEvent"] = document
    schemas["EventRefused"] = EventRefused.model_json_schema()
    return schemas
