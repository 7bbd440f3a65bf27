"""API v1 over real HTTP: create-or-replace, ETags, ownership, references, validation, pagination, dry runs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.contract.helpers import ESCALATION, MANAGER, problem, put, unique
from tests.support.api_server import ApiServer


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


@pytest.mark.parametrize("create_only", [True, False])
def test_concurrent_create_of_one_name_makes_exactly_one_object(api: ApiServer, create_only: bool) -> None:
    name = unique("race")
    headers = {"If-None-Match": "*"} if create_only else {}

    def create(index: int) -> httpx.Response:
        with api.client() as client:
            return put(client, "escalation-policies", name, {"spec": ESCALATION}, **headers)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(create, range(8)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(201) == 1
    assert statuses.count(412 if create_only else 200) == 7
    ids = {response.json()["id"] for response in responses if response.status_code < 300}
    assert len(ids) == 1, "every winner and loser names the same object"
    with api.client() as client:
        listed = client.get("/v1/escalation-policies", params={"name": name}).json()
    assert len(listed["items"]) == 1
    assert listed["items"][0]["version"] == 1, "the identical PUTs after the first changed nothing"


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
    invalid = admin.get("/v1/escalation-policies", params={"label_selector": "!tier=gold"})
    problem(invalid, 400, "invalid-label-selector")


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


def test_a_manager_that_allows_edits_keeps_the_object_while_others_edit(admin: httpx.Client) -> None:
    name = unique("esc")
    lenient = {**MANAGER, "allows_edits": True}
    put(admin, "escalation-policies", name, {"spec": ESCALATION, "manager": lenient}).raise_for_status()
    edited = put(admin, "escalation-policies", name, {"spec": {**ESCALATION, "num_loops": 3}})
    assert edited.status_code == 200
    assert edited.json()["manager"] == {**lenient, "source": None}, "an edit does not take the object over"
    other = {**MANAGER, "identity": "k8s://c2/ns/AlertPolicy/a"}
    problem(put(admin, "escalation-policies", name, {"spec": ESCALATION, "manager": other}), 409, "ownership-conflict")
    problem(admin.delete(f"/v1/escalation-policies/{name}"), 409, "ownership-conflict")


def test_references_by_id_are_checked_and_counted(admin: httpx.Client) -> None:
    escalation = unique("esc")
    target = put(admin, "escalation-policies", escalation, {"spec": ESCALATION}).json()
    spec = {"severity": "info", "routing_key": unique("rk"), "escalation_policy": {"id": "esc_0000000000000000"}}
    problem(put(admin, "alert-policies", unique("pol"), {"spec": spec}), 422, "reference-not-found")
    alert = unique("pol")
    spec["escalation_policy"] = {"id": target["id"]}
    assert put(admin, "alert-policies", alert, {"spec": spec}).status_code == 201
    blocked = problem(admin.delete(f"/v1/escalation-policies/{escalation}"), 409, "in-use")
    assert blocked["referenced_by"] == [{"collection": "alert-policies", "name": alert}]


def test_conditional_get_and_dry_run_delete(admin: httpx.Client) -> None:
    name = unique("esc")
    etag = put(admin, "escalation-policies", name, {"spec": ESCALATION}).headers["etag"]
    unchanged = admin.get(f"/v1/escalation-policies/{name}", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.headers["etag"] == etag
    assert admin.get(f"/v1/escalation-policies/{name}", headers={"If-None-Match": '"99"'}).status_code == 200
    assert admin.delete(f"/v1/escalation-policies/{name}", params={"dry_run": "true"}).status_code == 204
    assert admin.get(f"/v1/escalation-policies/{name}").status_code == 200, "a dry run deletes nothing"
    problem(admin.delete(f"/v1/escalation-policies/{name}", headers={"If-Match": '"2"'}), 412, "precondition-failed")
    assert admin.delete(f"/v1/escalation-policies/{name}", headers={"If-Match": etag}).status_code == 204


def test_label_selectors_and_updated_since(admin: httpx.Client) -> None:
    prefix = unique("sel")
    identity = f"k8s://{prefix}/*"
    for index, labels in enumerate([{"tier": "gold"}, {"tier": "silver"}, {"app": "db"}]):
        manager = {**MANAGER, "identity": f"k8s://{prefix}/{index}"}
        body = {"spec": ESCALATION, "labels": labels, "manager": manager}
        put(admin, "escalation-policies", f"{prefix}-{index}", body).raise_for_status()

    def names(**params: str) -> list[str]:
        page = admin.get("/v1/escalation-policies", params={"manager_identity": identity, **params})
        assert page.status_code == 200, page.text
        return [item["name"] for item in page.json()["items"]]

    assert names(label_selector="tier!=gold") == [f"{prefix}-1", f"{prefix}-2"], "!= also matches a missing label"
    assert names(label_selector="tier") == [f"{prefix}-0", f"{prefix}-1"]
    assert names(label_selector="!tier") == [f"{prefix}-2"]
    assert names(label_selector="tier==silver, app!=db") == [f"{prefix}-1"]
    assert names(updated_since="2000-01-01T00:00:00Z") == [f"{prefix}-{index}" for index in range(3)]
    assert names(updated_since="2999-01-01T00:00:00+02:00") == []
    problem(admin.get("/v1/escalation-policies", params={"updated_since": "yesterday"}), 422, "validation-failed")
    problem(
        put(admin, "escalation-policies", unique("esc"), {"spec": ESCALATION, "labels": {'bad"key': "x"}}),
        422,
        "validation-failed",
    )


def test_a_cursor_only_continues_its_own_listing(admin: httpx.Client) -> None:
    prefix = unique("cur")
    for index in range(3):
        manager = {**MANAGER, "identity": f"k8s://{prefix}/{index}"}
        put(admin, "escalation-policies", f"{prefix}-{index}", {"spec": ESCALATION, "manager": manager})
    params = {"manager_identity": f"k8s://{prefix}/*", "limit": "1"}
    cursor = admin.get("/v1/escalation-policies", params=params).json()["next_cursor"]
    assert admin.get("/v1/escalation-policies", params={**params, "cursor": cursor, "limit": "5"}).status_code == 200
    mismatched = admin.get("/v1/escalation-policies", params={"cursor": cursor, "label_selector": "a=b"})
    problem(mismatched, 400, "invalid-cursor")


def test_an_integrations_type_is_immutable(admin: httpx.Client) -> None:
    name = unique("int")
    put(admin, "integrations", name, {"spec": {"type": "alertmanager"}}).raise_for_status()
    body = problem(put(admin, "integrations", name, {"spec": {"type": "grafana"}}), 422, "immutable-field")
    assert body["errors"] == [{"pointer": "/spec/type", "detail": "immutable"}]


def test_no_response_ever_contains_a_secret(api: ApiServer, admin: httpx.Client) -> None:
    """Walk every read path after writes with secrets, and look for every secret the database holds."""
    name = unique("int")
    credentials = {"hmac_secret": "s3cr3t-" + uuid.uuid4().hex, "basic_password": "pw-" + uuid.uuid4().hex}
    writes = [
        put(admin, "integrations", name, {"spec": {"type": "grafana"}, "credentials": credentials}),
        put(
            admin,
            "integrations",
            name,
            {"spec": {"type": "grafana"}, "credentials": credentials},
            **{"If-Match": '"1"'},
        ),
        admin.put(f"/v1/integrations/{name}", params={"dry_run": "true"}, json={"spec": {"type": "grafana"}}),
    ]
    account = unique("sa")
    key = api.create_key(account, ["integrations:read"])
    reads = [
        admin.get(f"/v1/integrations/{name}"),
        admin.get("/v1/integrations", params={"limit": "500"}),
        admin.get("/v1/service-accounts", params={"limit": "500"}),
        admin.get(f"/v1/service-accounts/{account}/api-keys"),
        admin.get(f"/v1/service-accounts/{account}"),
        admin.get("/openapi.json"),
    ]
    with api.client(key) as reader:
        refused = reader.get(f"/v1/integrations/{name}/connection")
        assert refused.status_code == 403, "connection details are secrets: integrations:read_secrets only"
        reads.append(refused)
    secrets_json = [row[0] for row in api.query("SELECT secrets FROM resources WHERE secrets != '{}'")]
    key_hashes = [row[0] for row in api.query("SELECT hash FROM api_keys")]
    stored = [value for text in secrets_json for value in _strings(json.loads(text))] + key_hashes
    assert credentials["hmac_secret"] in stored
    for response in writes + reads:
        for secret in [*stored, key]:
            assert secret not in response.text, f"{response.request.url} leaks a secret"


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [item for child in value.values() for item in _strings(child)]
    return [value] if isinstance(value, str) else []


def test_force_manager_takes_over_with_its_own_scope(api: ApiServer, admin: httpx.Client) -> None:
    name = unique("esc")
    put(admin, "escalation-policies", name, {"spec": ESCALATION, "manager": MANAGER}).raise_for_status()
    newcomer = {**MANAGER, "identity": "k8s://c9/ns/AlertPolicy/a"}
    manager_only = api.create_key(unique("sa"), ["escalation_policies:manage"])
    with api.client(manager_only) as client:
        forced = client.put(
            f"/v1/escalation-policies/{name}",
            params={"force_manager": "true"},
            json={"spec": ESCALATION, "manager": newcomer},
        )
        problem(forced, 403, "insufficient-scope")
    taken = admin.put(
        f"/v1/escalation-policies/{name}",
        params={"force_manager": "true"},
        json={"spec": ESCALATION, "manager": newcomer},
    )
    assert taken.status_code == 200
    assert taken.json()["manager"]["identity"] == newcomer["identity"]


def test_request_bodies_are_capped(admin: httpx.Client) -> None:
    big = json.dumps({"spec": ESCALATION, "description": "x" * (3 * 1024 * 1024)}).encode()
    headers = {"content-type": "application/json"}
    problem(
        admin.put(f"/v1/escalation-policies/{unique('esc')}", content=big, headers=headers), 413, "payload-too-large"
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    chunked = admin.put(f"/v1/escalation-policies/{unique('esc')}", content=chunks(), headers=headers)
    assert "content-length" not in chunked.request.headers
    problem(chunked, 413, "payload-too-large")
    plain = admin.post("/api/v1/webhooks/alertmanager/x", content=chunks(), headers={"content-type": "text/plain"})
    problem(plain, 413, "payload-too-large")
