"""Alert ingestion over real HTTP: normalized alert events, alert groups and their actions, Idempotency-Key."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from tests.contract.helpers import alert_event, groups_of, problem, unique
from tests.support.api_server import ApiServer


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
    nul = alert_event(unique("am"), "g", "d") | {"summary": "before\x00after"}
    problem(admin.post("/v1/alert-events", json={"events": [nul]}), 400, "invalid-unicode")  # on every engine
    huge = alert_event(unique("am"), "g", "d") | {"truncated_alerts": 10**21}
    problem(admin.post("/v1/alert-events", json={"events": [huge]}), 422, "unsafe-number")
    bounded = alert_event(unique("am"), "g", "d") | {"truncated_alerts": 10**7}
    problem(admin.post("/v1/alert-events", json={"events": [bounded]}), 422, "validation-failed")


def test_idempotency_keys_are_1_to_255_characters_and_may_be_quoted(admin: httpx.Client) -> None:
    batch = {"events": [alert_event(unique("am"), "g", "a")]}
    problem(
        admin.post("/v1/alert-events", json=batch, headers={"Idempotency-Key": "k" * 256}),
        400,
        "invalid-idempotency-key",
    )
    key = str(uuid.uuid4())
    first = admin.post("/v1/alert-events", json=batch, headers={"Idempotency-Key": f'"{key}"'})
    again = admin.post("/v1/alert-events", json=batch, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true", "a structured-field string and a bare token are one key"
