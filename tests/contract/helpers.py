"""Shared pieces of the API contract tests: bodies, a problem+json assertion, fixtures' building blocks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

ESCALATION = {"rules": [{"delay_minutes": 0, "targets": [{"type": "user", "name": "alice"}]}]}
MANAGER = {"kind": "kubernetes", "identity": "k8s://c1/ns/AlertPolicy/a", "uid": "u1"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status and code; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert body["retryable"] is (status in {408, 429} or status >= 500 or code == "idempotency-key-in-flight")
    return body


def put(client: httpx.Client, collection: str, name: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return client.put(f"/v1/{collection}/{name}", json=body, headers=headers)


def policy(admin: httpx.Client, **spec: Any) -> tuple[str, str]:
    """A new alert policy (with its escalation policy); returns (name, routing key)."""
    escalation, name, routing_key = unique("esc"), unique("pol"), unique("rk")
    admin.put(f"/v1/escalation-policies/{escalation}", json={"spec": ESCALATION}).raise_for_status()
    body = {"severity": "critical", "routing_key": routing_key, "escalation_policy": {"name": escalation}, **spec}
    admin.put(f"/v1/alert-policies/{name}", json={"spec": body}).raise_for_status()
    return name, routing_key


def event(routing_key: str, action: str = "trigger", **extra: Any) -> dict[str, Any]:
    """A PagerDuty Events v2 body."""
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": action, **extra}
    if action == "trigger":
        body.setdefault("payload", {"summary": "CPU high on db-1", "source": "db-1", "severity": "warning"})
    return body


def alert_event(
    integration: str, group_key: str, dedup_key: str, status: str = "firing", **extra: Any
) -> dict[str, Any]:
    """A normalized AlertEvent, as the in-cluster webhook's forwarder sends it."""
    return {
        "source": "alertmanager",
        "integration": integration,
        "group_key": group_key,
        "dedup_key": dedup_key,
        "status": status,
        "severity": "warning",
        "summary": f"{dedup_key} is {status}",
        "occurred_at": datetime.now(UTC).isoformat(),
        **extra,
    }


def groups_of(admin: httpx.Client, integration: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = admin.get("/v1/alert-groups", params={"integration": integration}).json()["items"]
    return items
