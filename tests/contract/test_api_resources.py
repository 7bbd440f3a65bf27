"""API v1 over real HTTP: create-or-replace, ETags, ownership, references, validation, pagination, dry runs."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from tests.support.api_server import ApiServer

ESCALATION = {"rules": [{"delay_minutes": 0, "targets": [{"type": "user", "name": "alice"}]}]}
MANAGER = {"kind": "kubernetes", "identity": "k8s://c1/ns/AlertPolicy/a", "uid": "u1"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    return body


def put(client: httpx.Client, collection: str, name: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return client.put(f"/v1/{collection}/{name}", json=body, headers=headers)


def test_put_creates_then_replaces_and_the_body_equals_the_next_get(admin: httpx.Client) -> None:
    name = unique("esc")
    created = put(admin, "escalation-policies", name, {"spec": ESCALATION, "labels": {"team": "db"}})
    assert created.status_code == 201
    assert created.headers["etag"] == '"1"'
    assert created.content == admin.get(f"/v1/escalation-policies/{name}").content
    body = created.json()
    assert body["id"].startswith("esc_")
    assert body["spec"]["num_loops"] == 0, "documented normalisation: defaults are filled in"

    changed = {**ESCALATION, "num_loops": 2}
    replaced = put(admin, "escalation-policies", name, {"spec": changed, "labels": {"team": "db"}})
    assert replaced.status_code == 200
    assert replaced.headers["etag"] == '"2"'
    assert replaced.json()["id"] == body["id"]
    assert replaced.content == admin.get(f"/v1/escalation-policies/{name}").content


def test_identical_put_is_a_no_op(admin: httpx.Client) -> None:
    name = unique("esc")
    first = put(admin, "escalation-policies", name, {"spec": ESCALATION})
    again = put(admin, "escalation-policies", name, {"spec": ESCALATION})
    assert again.status_code == 200
    assert again.headers["etag"] == first.headers["etag"]
    assert again.json()["updated_at"] == first.json()["updated_at"]


def test_if_none_match_and_if_match(admin: httpx.Client) -> None:
    name = unique("esc")
    assert put(admin, "escalation-policies", name, {"spec": ESCALATION}, **{"If-None-Match": "*"}).status_code == 201
    problem(
        put(admin, "escalation-policies", name, {"spec": ESCALATION}, **{"If-None-Match": "*"}), 412, "already-exists"
    )
    stale = put(admin, "escalation-policies", name, {"spec": {**ESCALATION, "num_loops": 1}}, **{"If-Match": '"7"'})
    problem(stale, 412, "precondition-failed")
    fresh = put(admin, "escalation-policies", name, {"spec": {**ESCALATION, "num_loops": 1}}, **{"If-Match": '"1"'})
    assert fresh.status_code == 200
    problem(
        put(admin, "escalation-policies", unique("absent"), {"spec": ESCALATION}, **{"If-Match": '"1"'}),
        412,
        "precondition-failed",
    )


def test_unknown_fields_are_refused_with_pointers(admin: httpx.Client) -> None:
    body = problem(
        put(admin, "escalation-policies", unique("esc"), {"spec": {**ESCALATION, "loops": 3}, "colour": "red"}),
        422,
        "validation-failed",
    )
    pointers = {error["pointer"] for error in body["errors"]}
    assert "/colour" in pointers
    body = problem(
        put(admin, "escalation-policies", unique("esc"), {"spec": {**ESCALATION, "loops": 3}}), 422, "validation-failed"
    )
    assert body["errors"] == [{"pointer": "/spec/loops", "detail": "unknown field"}]
    bad_rule = {"rules": [{"delay_minutes": -1, "targets": []}]}
    body = problem(put(admin, "escalation-policies", unique("esc"), {"spec": bad_rule}), 422, "validation-failed")
    assert {"/spec/rules/0/delay_minutes", "/spec/rules/0/targets"} <= {error["pointer"] for error in body["errors"]}


def test_invalid_names_are_refused(admin: httpx.Client) -> None:
    problem(put(admin, "escalation-policies", "Not_A_Name", {"spec": ESCALATION}), 422, "validation-failed")
    problem(admin.get("/v1/widgets/x"), 404, "not-found")


def test_references_are_validated_and_block_deletion(admin: httpx.Client) -> None:
    escalation, alert = unique("esc"), unique("pol")
    spec = {"severity": "critical", "routing_key": unique("rk"), "escalation_policy": {"name": escalation}}
    body = problem(put(admin, "alert-policies", alert, {"spec": spec}), 422, "reference-not-found")
    assert body["errors"][0]["pointer"] == "/spec/escalation_policy"
    assert put(admin, "escalation-policies", escalation, {"spec": ESCALATION}).status_code == 201
    assert put(admin, "alert-policies", alert, {"spec": spec}).status_code == 201
    blocked = problem(admin.delete(f"/v1/escalation-policies/{escalation}"), 409, "in-use")
    assert blocked["referenced_by"] == [{"collection": "alert-policies", "name": alert}]
    assert admin.delete(f"/v1/alert-policies/{alert}").status_code == 204
    assert admin.delete(f"/v1/escalation-policies/{escalation}").status_code == 204
    problem(admin.get(f"/v1/escalation-policies/{escalation}"), 404, "not-found")
    problem(admin.delete(f"/v1/escalation-policies/{escalation}"), 404, "not-found")


def test_ownership_conflict_adoption_and_release(admin: httpx.Client) -> None:
    name = unique("esc")
    assert put(admin, "escalation-policies", name, {"spec": ESCALATION}).status_code == 201
    adopted = put(admin, "escalation-policies", name, {"spec": ESCALATION, "manager": MANAGER})
    assert adopted.status_code == 200, "claiming an unmanaged object is a normal write"
    assert adopted.json()["manager"]["identity"] == MANAGER["identity"]
    other = {**MANAGER, "identity": "k8s://c2/ns/AlertPolicy/a"}
    conflict = problem(
        put(admin, "escalation-policies", name, {"spec": ESCALATION, "manager": other}), 409, "ownership-conflict"
    )
    assert conflict["current_manager"]["identity"] == MANAGER["identity"]
    problem(put(admin, "escalation-policies", name, {"spec": ESCALATION}), 409, "ownership-conflict")
    problem(admin.delete(f"/v1/escalation-policies/{name}"), 409, "ownership-conflict")
    terraform = {**MANAGER, "kind": "terraform"}
    problem(
        put(admin, "escalation-policies", name, {"spec": ESCALATION, "manager": terraform}), 403, "manager-kind-change"
    )
    problem(
        admin.post(f"/v1/escalation-policies/{name}:release", json={"identity": other["identity"]}),
        409,
        "ownership-conflict",
    )
    released = admin.post(f"/v1/escalation-policies/{name}:release", json={"identity": MANAGER["identity"]})
    assert released.status_code == 200
    assert released.json()["manager"] is None
    assert put(admin, "escalation-policies", name, {"spec": ESCALATION, "manager": other}).status_code == 200


def test_delete_by_the_manager(admin: httpx.Client) -> None:
    name = unique("esc")
    put(admin, "escalation-policies", name, {"spec": ESCALATION, "manager": MANAGER})
    params = {"manager_identity": MANAGER["identity"]}
    assert admin.delete(f"/v1/escalation-policies/{name}", params=params).status_code == 204


def test_dry_run_returns_the_would_be_object_and_stores_nothing(admin: httpx.Client) -> None:
    name = unique("esc")
    dry = admin.put(f"/v1/escalation-policies/{name}", params={"dry_run": "true"}, json={"spec": ESCALATION})
    assert dry.status_code == 201
    assert dry.json()["spec"]["rules"][0]["targets"][0]["name"] == "alice"
    problem(admin.get(f"/v1/escalation-policies/{name}"), 404, "not-found")


def test_concurrent_create_of_one_name_makes_exactly_one_object(api: ApiServer) -> None:
    name = unique("race")

    def create(_: int) -> int:
        with api.client() as client:
            return put(client, "escalation-policies", name, {"spec": ESCALATION}, **{"If-None-Match": "*"}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(create, range(8)))
    assert statuses.count(201) == 1
    assert statuses.count(412) == 7
    with api.client() as client:
        listed = client.get("/v1/escalation-policies", params={"name": name}).json()
    assert len(listed["items"]) == 1


def test_pagination_and_filters(admin: httpx.Client) -> None:
    prefix = unique("page")
    for index in range(5):
        labels = {"tier": "gold" if index % 2 else "silver"}
        manager = {**MANAGER, "identity": f"k8s://{prefix}/ns/EscalationPolicy/{index}"}
        put(
            admin,
            "escalation-policies",
            f"{prefix}-{index}",
            {"spec": ESCALATION, "labels": labels, "manager": manager},
        )
    seen, cursor = [], None
    while True:
        params = {"limit": "2", "manager_identity": f"k8s://{prefix}/*", **({"cursor": cursor} if cursor else {})}
        page = admin.get("/v1/escalation-policies", params=params).json()
        assert len(page["items"]) <= 2
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"{prefix}-{index}" for index in range(5)]
    gold = admin.get(
        "/v1/escalation-policies", params={"label_selector": "tier=gold", "manager_identity": f"k8s://{prefix}/*"}
    )
    assert [item["name"] for item in gold.json()["items"]] == [f"{prefix}-1", f"{prefix}-3"]
    exact = admin.get("/v1/escalation-policies", params={"manager_identity": f"k8s://{prefix}/ns/EscalationPolicy/4"})
    assert [item["name"] for item in exact.json()["items"]] == [f"{prefix}-4"]
    problem(admin.get("/v1/escalation-policies", params={"cursor": "!!!"}), 400, "invalid-cursor")
    problem(admin.get("/v1/escalation-policies", params={"label_selector": "tier"}), 400, "invalid-label-selector")


def test_integration_secrets_are_write_only(admin: httpx.Client, api: ApiServer) -> None:
    name = unique("int")
    secret_value = "hmac-" + uuid.uuid4().hex
    created = put(
        admin, "integrations", name, {"spec": {"type": "grafana"}, "credentials": {"hmac_secret": secret_value}}
    )
    assert created.status_code == 201
    for response in (created, admin.get(f"/v1/integrations/{name}"), admin.get("/v1/integrations")):
        assert secret_value not in response.text
    status = created.json()["status"]
    assert status["credentials_set"] == ["hmac_secret"]
    connection = admin.get(f"/v1/integrations/{name}/connection").json()
    assert connection["webhook_token"] not in created.text
    assert connection["integration_key"] not in created.text
    assert connection["webhook_url"].endswith(f"/api/v1/webhooks/grafana/{connection['webhook_token']}")
    reader = api.create_key(unique("reader"), ["integrations:read"])
    with api.client(reader) as client:
        assert client.get(f"/v1/integrations/{name}").status_code == 200
        problem(client.get(f"/v1/integrations/{name}/connection"), 403, "insufficient-scope")
    problem(
        put(admin, "escalation-policies", unique("esc"), {"spec": ESCALATION, "credentials": {"a": "b"}}),
        422,
        "validation-failed",
    )


def test_integration_settings_must_match_the_type(admin: httpx.Client) -> None:
    body = problem(
        put(
            admin,
            "integrations",
            unique("int"),
            {"spec": {"type": "grafana", "jira": {"base_url": "https://x", "project_key": "K"}}},
        ),
        422,
        "validation-failed",
    )
    assert "only allowed when type is jira" in body["errors"][0]["detail"]


def test_every_response_has_a_request_id(admin: httpx.Client) -> None:
    assert admin.get("/v1/escalation-policies").headers["x-request-id"]
    echoed = admin.get("/v1/escalation-policies", headers={"X-Request-Id": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    assert admin.get("/v1/nothing-here/x").headers["x-request-id"]


@pytest.mark.parametrize("collection", ["teams", "schedules", "routing-rules"])
def test_other_collections_follow_the_same_rules(admin: httpx.Client, collection: str) -> None:
    specs = {
        "teams": {"members": [{"user": "alice", "role": "manager"}]},
        "schedules": {
            "layers": [
                {
                    "name": "weekly",
                    "start": "2026-01-05T09:00:00Z",
                    "rotation_turn_length_seconds": 604800,
                    "users": ["a", "b"],
                }
            ]
        },
        "routing-rules": {
            "conditions": {"items": [{"field": "severity", "operator": "equals", "value": "critical"}]},
            "actions": {"severity": "critical"},
        },
    }
    name = unique(collection[:4])
    created = put(admin, collection, name, {"spec": specs[collection]})
    assert created.status_code == 201, created.text
    assert created.content == admin.get(f"/v1/{collection}/{name}").content
    problem(put(admin, collection, name, {"spec": {**specs[collection], "x": 1}}), 422, "validation-failed")
    assert admin.delete(f"/v1/{collection}/{name}").status_code == 204
