"""The API client against a loopback stand-in that answers with scripted statuses (429, 503, problems, ...): which
answers are retried, that Retry-After is obeyed, one Idempotency-Key per logical POST, and the exception tree."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.support.processes import free_port, serving_in_thread

from signalcraft.api import Manager, SignalCraftClient, errors
from signalcraft.api.client import parse_retry_after

API_KEY = "sc_abcdefghijkl_" + "s" * 43
RESOURCE = {
    "name": "p",
    "id": "esc_1",
    "labels": {},
    "manager": None,
    "spec": {},
    "status": {},
    "version": 3,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}


def problem(status: int, code: str, **extra: Any) -> Response:
    body = {"type": f"https://signalcraft.io/problems/{code}", "title": code, "status": status, "code": code}
    return JSONResponse(
        {**body, "detail": f"{code} happened", **extra}, status_code=status, media_type="application/problem+json"
    )


@dataclass
class StandIn:
    """Answers each request with the next scripted response and records what it received."""

    url: str
    script: list[Response] = field(default_factory=list)
    received: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    async def answer(self, request: Request) -> Response:
        self.received.append((f"{request.method} {request.url.path}", dict(request.headers), time.monotonic()))
        return self.script.pop(0) if self.script else JSONResponse(RESOURCE, headers={"ETag": '"3"'})


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    port = free_port()
    server = StandIn(f"http://127.0.0.1:{port}")
    app = Starlette(routes=[Route("/{path:path}", server.answer, methods=["GET", "PUT", "POST", "DELETE"])])
    with serving_in_thread(app, port):
        yield server


@pytest.fixture
def fresh(stand_in: StandIn) -> StandIn:
    stand_in.script.clear()
    stand_in.received.clear()
    return stand_in


async def test_retry_after_is_obeyed_and_the_idempotency_key_is_kept(fresh: StandIn) -> None:
    fresh.script += [problem(503, "storage-busy", retryable=True), problem(429, "rate-limited")]
    fresh.script[0].headers["Retry-After"] = "1"
    fresh.script[1].headers["Retry-After"] = "0"
    async with SignalCraftClient(fresh.url, API_KEY, max_retries=3) as client:
        released = await client.release("escalation-policies", "p", identity="k8s://x")
    assert released.version == 3
    assert len(fresh.received) == 3
    (_, first, at_first), (_, second, at_second), (_, third, _) = fresh.received
    assert at_second - at_first >= 0.95, "the client waited at least Retry-After"
    assert first["idempotency-key"] == second["idempotency-key"] == third["idempotency-key"]
    assert first["authorization"] == f"Bearer {API_KEY}"


async def test_transient_answers_are_retried_then_raised(fresh: StandIn) -> None:
    fresh.script += [problem(502, "bad-gateway") for _ in range(3)]
    for response in fresh.script:
        response.headers["Retry-After"] = "0"
    async with SignalCraftClient(fresh.url, API_KEY, max_retries=2) as client:
        with pytest.raises(errors.TransientApiError) as raised:
            await client.get("escalation-policies", "p")
    assert len(fresh.received) == 3
    assert raised.value.retry_after == 0
    assert errors.is_transient(raised.value)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (problem(404, "not-found"), errors.NotFoundError),
        (problem(412, "precondition-failed"), errors.PreconditionFailedError),
        (problem(401, "unauthenticated"), errors.AuthenticationError),
        (problem(403, "insufficient-scope"), errors.PermissionDeniedError),
        (problem(400, "invalid-cursor"), errors.ValidationError),
    ],
)
async def test_permanent_answers_raise_at_once(fresh: StandIn, answer: Response, expected: type[Exception]) -> None:
    fresh.script.append(answer)
    async with SignalCraftClient(fresh.url, API_KEY) as client:
        with pytest.raises(expected) as raised:
            await client.put("escalation-policies", "p", {"rules": []}, manager=Manager(identity="k8s://x"))
    assert len(fresh.received) == 1, "permanent errors are not retried"
    assert not errors.is_transient(raised.value)
    assert API_KEY not in str(raised.value)


async def test_conflicts_carry_their_details(fresh: StandIn) -> None:
    manager = {"kind": "kubernetes", "identity": "k8s://other"}
    fresh.script.append(problem(409, "ownership-conflict", current_manager=manager))
    fresh.script.append(problem(409, "in-use", referenced_by=[{"collection": "alert-policies", "name": "a"}]))
    fresh.script.append(problem(422, "validation-failed", errors=[{"pointer": "/spec/rules", "detail": "too short"}]))
    async with SignalCraftClient(fresh.url, API_KEY) as client:
        with pytest.raises(errors.ConflictError) as owned:
            await client.put("escalation-policies", "p", {})
        with pytest.raises(errors.ConflictError) as used:
            await client.delete("escalation-policies", "p")
        with pytest.raises(errors.ValidationError) as invalid:
            await client.put("escalation-policies", "p", {})
    assert owned.value.current_manager == "k8s://other"
    assert used.value.referenced_by == [{"collection": "alert-policies", "name": "a"}]
    assert invalid.value.errors == [errors.FieldError("/spec/rules", "too short")]
    assert invalid.value.status == 422


async def test_an_idempotent_request_in_flight_is_retried(fresh: StandIn) -> None:
    in_flight = problem(409, "idempotency-key-in-flight")
    in_flight.headers["Retry-After"] = "0"
    fresh.script.append(in_flight)
    async with SignalCraftClient(fresh.url, API_KEY) as client:
        await client.release("teams", "p", identity="k8s://x")
    assert len(fresh.received) == 2


async def test_put_sends_the_documented_headers_and_body(fresh: StandIn) -> None:
    async with SignalCraftClient(fresh.url, API_KEY) as client:
        result = await client.put("teams", "p", {"members": []}, if_match='"3"', create_only=True, dry_run=True)
    assert result.resource.etag == '"3"'
    assert not result.created
    ((line, headers, _),) = fresh.received
    assert line == "PUT /v1/teams/p"
    assert headers["if-match"] == '"3"'
    assert headers["if-none-match"] == "*"


async def test_network_errors_are_transient_and_never_show_the_key() -> None:
    async with SignalCraftClient(f"http://127.0.0.1:{free_port()}", API_KEY, max_retries=1) as client:
        with pytest.raises(errors.TransportError) as raised:
            await client.get("teams", "p")
    assert errors.is_transient(raised.value)
    assert API_KEY not in str(raised.value)


def test_retry_after_as_seconds_or_an_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(later) or 0) <= 30
    assert parse_retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0.0
