"""The Events API over real HTTP: PagerDuty Events v2 bodies on /v1/events (problem+json errors) and /v2/enqueue
(PagerDuty's error shape), routing by an alert policy's routing key or an integration key, 400/413, idempotency."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from tests.contract.helpers import event, groups_of, policy, problem, unique
from tests.support.api_server import ApiServer, running_api_server


def test_trigger_acknowledge_resolve(api: ApiServer, admin: httpx.Client) -> None:
    name, routing_key = policy(admin)
    accepted = httpx.post(f"{api.url}/v1/events", json=event(routing_key, dedup_key="db-1-cpu"))
    assert accepted.status_code == 202
    body = accepted.json()
    assert {key: body[key] for key in ("status", "message", "dedup_key")} == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "db-1-cpu",
    }
    assert body["event_id"].startswith("evt_")
    (group,) = groups_of(admin, f"alert-policy:{name}")
    assert group["status"] == "firing"
    assert group["severity"] == "critical", "the policy's severity wins over the event's warning"
    assert group["alert_policy"] == name
    assert group["escalation_policy"]
    httpx.post(f"{api.url}/v2/enqueue", json=event(routing_key, "acknowledge", dedup_key="db-1-cpu")).raise_for_status()
    assert admin.get(f"/v1/alert-groups/{group['id']}").json()["status"] == "acknowledged"
    httpx.post(f"{api.url}/v1/events", json=event(routing_key, "resolve", dedup_key="db-1-cpu")).raise_for_status()
    resolved = admin.get(f"/v1/alert-groups/{group['id']}").json()
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"]
    unknown = httpx.post(f"{api.url}/v1/events", json=event(routing_key, "resolve", dedup_key="never-seen"))
    assert unknown.status_code == 202, "resolving an unknown dedup key is a no-op"
    assert groups_of(admin, f"alert-policy:{name}") == [resolved]


def test_trigger_without_dedup_key_gets_one(api: ApiServer, admin: httpx.Client) -> None:
    _, routing_key = policy(admin)
    response = httpx.post(f"{api.url}/v1/events", json=event(routing_key))
    assert response.status_code == 202
    assert len(response.json()["dedup_key"]) == 32


MALFORMED = [
    ({"event_action": "explode"}, "/event_action"),
    ({"payload": None}, "/payload"),
    ({"payload": {"summary": "x", "source": "y", "severity": "fatal"}}, "/payload/severity"),
    ({"event_action": "resolve"}, "/dedup_key"),
    ({"routing_key": "no-such-key"}, "/routing_key"),
]


@pytest.mark.parametrize(("change", "where"), MALFORMED)
def test_malformed_events_get_400_with_the_reason(
    api: ApiServer, admin: httpx.Client, change: dict[str, object], where: str
) -> None:
    _, routing_key = policy(admin)
    body = {**event(routing_key), **change}
    if body.get("payload") is None:
        body.pop("payload")
    native = problem(httpx.post(f"{api.url}/v1/events", json=body), 400, "invalid-event")
    assert where in [error["pointer"] for error in native["errors"]], native
    pagerduty = httpx.post(f"{api.url}/v2/enqueue", json=body)
    assert pagerduty.status_code == 400
    assert pagerduty.json()["status"] == "invalid event"
    assert pagerduty.json()["message"] == "Event object is invalid"
    assert any(error.startswith(where.lstrip("/").replace("/", ".")) for error in pagerduty.json()["errors"])


def test_bodies_that_are_not_events(api: ApiServer) -> None:
    for garbage in (b"{not json", b"[]", b'"text"'):
        headers = {"content-type": "application/json"}
        problem(httpx.post(f"{api.url}/v1/events", content=garbage, headers=headers), 400, "invalid-event")
        assert httpx.post(f"{api.url}/v2/enqueue", content=garbage, headers=headers).status_code == 400


def test_events_above_512_kb_get_413(api: ApiServer, admin: httpx.Client) -> None:
    _, routing_key = policy(admin)
    details = {"blob": "x" * 600_000}
    huge = event(routing_key, payload={"summary": "x", "source": "y", "severity": "info", "custom_details": details})
    problem(httpx.post(f"{api.url}/v1/events", json=huge), 413, "payload-too-large")
    refused = httpx.post(f"{api.url}/v2/enqueue", json=huge)
    assert refused.status_code == 413
    assert refused.json()["message"] == "Event object is too large"


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


def test_an_integration_key_routes_events_to_the_integration(api: ApiServer, admin: httpx.Client) -> None:
    name = unique("events")
    admin.put(f"/v1/integrations/{name}", json={"spec": {"type": "events-api"}}).raise_for_status()
    integration_key = admin.get(f"/v1/integrations/{name}/connection").json()["integration_key"]
    payload = {"summary": "disk full", "source": "db-2", "severity": "error", "component": "disk"}
    sent = httpx.post(f"{api.url}/v2/enqueue", json=event(integration_key, payload=payload, dedup_key="disk"))
    assert sent.status_code == 202
    (group,) = groups_of(admin, name)
    assert group["severity"] == "error", "without a policy the event's own severity counts"
    assert group["alert_policy"] is None
    (alert,) = admin.get(f"/v1/alert-groups/{group['id']}/alerts").json()
    assert alert["labels"] == {"source": "db-2", "component": "disk"}
    assert admin.get(f"/v1/integrations/{name}").json()["status"]["last_event_received_at"]
    httpx.post(f"{api.url}/v1/events", json=event(integration_key, "resolve", dedup_key="disk")).raise_for_status()
    (resolved,) = admin.get(f"/v1/alert-groups/{group['id']}/alerts").json()
    assert resolved["status"] == "resolved"
    assert {key: resolved[key] for key in ("severity", "summary", "labels")} == {
        key: alert[key] for key in ("severity", "summary", "labels")
    }, "a resolve without a payload keeps what the trigger said"


def test_idempotency_key_is_scoped_to_the_routing_key(api: ApiServer, admin: httpx.Client) -> None:
    _, routing_key = policy(admin)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = httpx.post(f"{api.url}/v1/events", json=event(routing_key), headers=key)
    again = httpx.post(f"{api.url}/v1/events", json=event(routing_key), headers=key)
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json(), "the replay names the same generated dedup key and event id"
    problem(
        httpx.post(f"{api.url}/v1/events", json=event(routing_key, dedup_key="other"), headers=key),
        422,
        "idempotency-key-reused",
    )
    _, other_key = policy(admin)
    elsewhere = httpx.post(f"{api.url}/v1/events", json=event(other_key), headers=key)
    assert elsewhere.status_code == 202
    assert "idempotent-replayed" not in elsewhere.headers, "another routing key has its own key space"


def test_unknown_routing_keys_are_limited_per_client_address(tmp_path: Path) -> None:
    """Guessing routing keys is slow: each client address may send only a few events for keys that do not exist
    (here two a minute), then 429 + Retry-After. Its events for real keys, and other addresses, are not held up."""
    with running_api_server(tmp_path, ["--unknown-key-rate-limit", "2"]) as api, api.client() as admin:
        _, routing_key = policy(admin)
        guesser = {"X-Forwarded-For": "198.51.100.7"}  # the test client is on loopback, whose proxy headers count
        for guess in ("db-critical", "payments"):
            problem(httpx.post(f"{api.url}/v1/events", json=event(guess), headers=guesser), 400, "invalid-event")
        throttled = problem(httpx.post(f"{api.url}/v1/events", json=event("web"), headers=guesser), 429, "rate-limited")
        assert "unknown routing keys" in throttled["detail"]
        assert int(httpx.post(f"{api.url}/v1/events", json=event("x"), headers=guesser).headers["retry-after"]) >= 1
        pagerduty = httpx.post(f"{api.url}/v2/enqueue", json=event("api"), headers=guesser)
        assert pagerduty.status_code == 429
        assert pagerduty.json()["status"] == "throttle event"
        assert httpx.post(f"{api.url}/v1/events", json=event(routing_key), headers=guesser).status_code == 202
        other = {"X-Forwarded-For": "198.51.100.8"}
        problem(httpx.post(f"{api.url}/v1/events", json=event("db-critical"), headers=other), 400, "invalid-event")


def test_a_resolve_touches_only_its_own_routing_keys_groups(api: ApiServer, admin: httpx.Client) -> None:
    """The same dedup key through another routing key (another policy, another integration, or the policy a routing
    rule sends an integration's traffic to) is another alert: resolving it leaves the others firing."""
    first_policy, first_key = policy(admin)
    second_policy, second_key = policy(admin)
    integrations = [unique("events"), unique("events")]
    keys = []
    for name in integrations:
        admin.put(f"/v1/integrations/{name}", json={"spec": {"type": "events-api"}}).raise_for_status()
        keys.append(admin.get(f"/v1/integrations/{name}/connection").json()["integration_key"])
    rule = unique("rr")
    routed = {
        "conditions": {"items": [{"field": "integration.name", "operator": "equals", "value": integrations[0]}]},
        "actions": {"alert_policy": {"name": first_policy}},
    }
    admin.put(f"/v1/routing-rules/{rule}", json={"spec": routed}).raise_for_status()
    try:
        for key in (first_key, keys[0], keys[1]):
            httpx.post(f"{api.url}/v1/events", json=event(key, dedup_key="shared")).raise_for_status()
        for key in (second_key, keys[1]):
            httpx.post(f"{api.url}/v1/events", json=event(key, "resolve", dedup_key="shared")).raise_for_status()
        (by_policy,) = groups_of(admin, f"alert-policy:{first_policy}")
        (routed_group,) = groups_of(admin, integrations[0])
        (resolved,) = groups_of(admin, integrations[1])
        assert by_policy["status"] == "firing", "another policy's key resolved nothing of this one"
        assert routed_group["status"] == "firing", "routed to the policy, the group still belongs to its integration"
        assert routed_group["alert_policy"] == first_policy
        assert resolved["status"] == "resolved"
        assert groups_of(admin, f"alert-policy:{second_policy}") == [], "a resolve of nothing makes nothing"
    finally:
        admin.delete(f"/v1/routing-rules/{rule}").raise_for_status()
