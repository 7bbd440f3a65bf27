"""Alert ingestion over real HTTP: the Events API (PagerDuty v2 bodies), normalized alert events, alert groups,
and Idempotency-Key semantics."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
from tests.contract.test_api_resources import ESCALATION, problem, unique
from tests.support.api_server import ApiServer


def policy(admin: httpx.Client, **spec: Any) -> tuple[str, str]:
    escalation, name, routing_key = unique("esc"), unique("pol"), unique("rk")
    admin.put(f"/v1/escalation-policies/{escalation}", json={"spec": ESCALATION}).raise_for_status()
    body = {"severity": "critical", "routing_key": routing_key, "escalation_policy": {"name": escalation}, **spec}
    admin.put(f"/v1/alert-policies/{name}", json={"spec": body}).raise_for_status()
    return name, routing_key


def event(routing_key: str, action: str = "trigger", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": action, **extra}
    if action == "trigger":
        body.setdefault("payload", {"summary": "CPU high on db-1", "source": "db-1", "severity": "warning"})
    return body


def groups_of(admin: httpx.Client, integration: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = admin.get("/v1/alert-groups", params={"integration": integration}).json()["items"]
    return items


def test_trigger_acknowledge_resolve(api: ApiServer, admin: httpx.Client) -> None:
    name, routing_key = policy(admin)
    accepted = httpx.post(f"{api.url}/v1/events", json=event(routing_key, dedup_key="db-1-cpu"))
    assert accepted.status_code == 202
    assert accepted.json() == {"status": "success", "message": "Event processed", "dedup_key": "db-1-cpu"}
    (group,) = groups_of(admin, f"alert-policy:{name}")
    assert group["status"] == "firing"
    assert group["severity"] == "critical", "the policy's severity wins"
    assert group["alert_policy"] == name
    assert group["escalation_policy"]
    httpx.post(f"{api.url}/v2/enqueue", json=event(routing_key, "acknowledge", dedup_key="db-1-cpu")).raise_for_status()
    assert admin.get(f"/v1/alert-groups/{group['id']}").json()["status"] == "acknowledged"
    httpx.post(f"{api.url}/v1/events", json=event(routing_key, "resolve", dedup_key="db-1-cpu")).raise_for_status()
    resolved = admin.get(f"/v1/alert-groups/{group['id']}").json()
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"]


def test_trigger_without_dedup_key_gets_one(api: ApiServer, admin: httpx.Client) -> None:
    _, routing_key = policy(admin)
    response = httpx.post(f"{api.url}/v1/events", json=event(routing_key))
    assert response.status_code == 202
    assert len(response.json()["dedup_key"]) == 32


def test_malformed_events_get_400_with_the_reason(api: ApiServer, admin: httpx.Client) -> None:
    _, routing_key = policy(admin)
    cases = [
        (event(routing_key, "explode"), "event_action"),
        ({"routing_key": routing_key, "event_action": "trigger"}, "payload"),
        (event(routing_key, payload={"summary": "x", "source": "y", "severity": "fatal"}), "severity"),
        (event(routing_key, "resolve"), "dedup_key"),
        (event("no-such-key"), "unknown routing_key"),
    ]
    for body, reason in cases:
        response = httpx.post(f"{api.url}/v1/events", json=body)
        assert response.status_code == 400, body
        assert response.json()["status"] == "invalid event"
        assert any(reason in error for error in response.json()["errors"]), response.text
    garbage = httpx.post(f"{api.url}/v1/events", content=b"{not json", headers={"content-type": "application/json"})
    assert garbage.status_code == 400


def test_events_above_512_kb_get_413(api: ApiServer, admin: httpx.Client) -> None:
    _, routing_key = policy(admin)
    huge = event(
        routing_key,
        payload={"summary": "x", "source": "y", "severity": "info", "custom_details": {"blob": "x" * 600_000}},
    )
    assert httpx.post(f"{api.url}/v1/events", json=huge).status_code == 413


def test_conditions_decide_whether_an_event_raises_an_alert(api: ApiServer, admin: httpx.Client) -> None:
    conditions = [{"type": "metric_threshold", "metric": "cpu_usage", "operator": "gt", "value": 90}]
    name, routing_key = policy(admin, conditions=conditions)
    low = {"summary": "cpu", "source": "db", "severity": "info", "custom_details": {"cpu_usage": 42}}
    high = {**low, "custom_details": {"cpu_usage": 97.5}}
    quiet = httpx.post(f"{api.url}/v1/events", json=event(routing_key, payload=low, dedup_key="c1"))
    assert quiet.status_code == 202
    assert "suppressed" in quiet.json()["message"]
    assert groups_of(admin, f"alert-policy:{name}") == []
    httpx.post(f"{api.url}/v1/events", json=event(routing_key, payload=high, dedup_key="c1")).raise_for_status()
    assert len(groups_of(admin, f"alert-policy:{name}")) == 1


def alert_event(integration: str, group_key: str, dedup_key: str, status: str = "firing") -> dict[str, Any]:
    return {
        "source": "alertmanager",
        "integration": integration,
        "group_key": group_key,
        "dedup_key": dedup_key,
        "status": status,
        "severity": "warning",
        "summary": f"{dedup_key} is {status}",
        "occurred_at": datetime.now(UTC).isoformat(),
    }


def test_alert_events_are_grouped_and_idempotent(admin: httpx.Client) -> None:
    integration = unique("am")
    batch = {"events": [alert_event(integration, "g1", "a1"), alert_event(integration, "g1", "a2")]}
    key = str(uuid.uuid4())
    first = admin.post("/v1/alert-events", json=batch, headers={"Idempotency-Key": key})
    assert first.status_code == 202
    replay = admin.post("/v1/alert-events", json=batch, headers={"Idempotency-Key": key})
    assert replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    reused = admin.post("/v1/alert-events", json={"events": batch["events"][:1]}, headers={"Idempotency-Key": key})
    problem(reused, 422, "idempotency-key-reused")
    # A redelivery under a new key has the same effect as once: still one group with two alerts.
    admin.post("/v1/alert-events", json=batch).raise_for_status()
    (group,) = groups_of(admin, integration)
    assert group["alert_count"] == 2
    alerts = admin.get(f"/v1/alert-groups/{group['id']}/alerts").json()
    assert [alert["dedup_key"] for alert in alerts] == ["a1", "a2"]
    resolve_one = {"events": [alert_event(integration, "g1", "a1", "resolved")]}
    admin.post("/v1/alert-events", json=resolve_one).raise_for_status()
    assert admin.get(f"/v1/alert-groups/{group['id']}").json()["status"] == "firing"
    admin.post(
        "/v1/alert-events", json={"events": [alert_event(integration, "g1", "a2", "resolved")]}
    ).raise_for_status()
    assert admin.get(f"/v1/alert-groups/{group['id']}").json()["status"] == "resolved"


def test_concurrent_duplicates_with_one_key_act_once(api: ApiServer, admin: httpx.Client) -> None:
    integration = unique("am")
    batch = {"events": [alert_event(integration, f"g{i}", "a") for i in range(300)]}
    key = str(uuid.uuid4())

    def send(_: int) -> httpx.Response:
        with api.client() as client:
            return client.post("/v1/alert-events", json=batch, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(send, range(6)))
    originals = [r for r in responses if r.status_code == 202 and "idempotent-replayed" not in r.headers]
    assert len(originals) == 1
    for response in responses:
        if response.status_code == 409:
            problem(response, 409, "idempotency-key-in-flight")
        else:
            assert response.status_code == 202
    listed = admin.get("/v1/alert-groups", params={"integration": integration, "limit": "500"}).json()["items"]
    assert len(listed) == 300, "the batch took effect exactly once"


def test_group_actions(admin: httpx.Client) -> None:
    integration = unique("am")
    admin.post("/v1/alert-events", json={"events": [alert_event(integration, "g", "a")]}).raise_for_status()
    (group,) = groups_of(admin, integration)
    acked = admin.post(f"/v1/alert-groups/{group['id']}:acknowledge")
    assert acked.json()["status"] == "acknowledged"
    assert admin.post(f"/v1/alert-groups/{group['id']}:resolve").json()["status"] == "resolved"
    problem(admin.post("/v1/alert-groups/grp_missing:resolve"), 404, "not-found")
    problem(admin.get("/v1/alert-groups/grp_missing"), 404, "not-found")


def test_alert_events_need_the_events_scope(api: ApiServer) -> None:
    key = api.create_key(unique("sa"), ["alert_groups:read"])
    with api.client(key) as client:
        problem(
            client.post("/v1/alert-events", json={"events": [alert_event("x", "g", "a")]}), 403, "insufficient-scope"
        )
        problem(client.post("/v1/alert-events", json={"events": []}), 422, "validation-failed")


def test_unencodable_text_and_huge_numbers_are_client_errors(admin: httpx.Client) -> None:
    lone = '{"events": [{"source": "x", "group_key": "g", "dedup_key": "d", "status": "firing", "summary": "\\ud800",'
    lone += ' "occurred_at": "2026-01-01T00:00:00Z"}]}'
    problem(
        admin.post("/v1/alert-events", content=lone, headers={"content-type": "application/json"}),
        400,
        "invalid-unicode",
    )
    huge = alert_event(unique("am"), "g", "d") | {"truncated_alerts": 10**21}
    problem(admin.post("/v1/alert-events", json={"events": [huge]}), 422, "validation-failed")
