"""Service accounts and API keys over HTTP: 401 that never says why, 403 per scope, keys shown once, rate limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.contract.helpers import ESCALATION, problem, unique
from tests.support.api_server import ApiServer, running_api_server
from tests.support.processes import wait_until


def test_missing_wrong_and_revoked_keys_get_the_same_401(api: ApiServer, admin: httpx.Client) -> None:
    account = unique("sa")
    key = api.create_key(account, ["escalation_policies:read"])
    key_id = admin.get(f"/v1/service-accounts/{account}/api-keys").json()["items"][0]["id"]
    wrong = key[:-4] + "AAAA"
    bodies = []
    for header in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": "Basic x"},
    ):
        response = httpx.get(f"{api.url}/v1/escalation-policies", headers=header)
        bodies.append(problem(response, 401, "unauthenticated"))
        assert response.headers["www-authenticate"].startswith("Bearer")
    with api.client(key) as client:
        assert client.get("/v1/escalation-policies").status_code == 200
        assert admin.post(f"/v1/api-keys/{key_id}:revoke").json()["revoked_at"]
        bodies.append(problem(client.get("/v1/escalation-policies"), 401, "unauthenticated"))
    for body in bodies:
        body.pop("request_id")
    assert all(body == bodies[0] for body in bodies), "401 bodies must not reveal why a key was refused"


def test_every_operation_but_the_events_api_needs_a_key(api: ApiServer) -> None:
    """Authentication is part of every operation the OpenAPI document does not mark open (`security: []`), whichever
    router or route class carries it."""
    document = httpx.get(f"{api.url}/openapi.json").json()
    checked = 0
    for path, operations in document["paths"].items():
        if path.startswith("/api/"):
            continue  # webhook routes authenticate by their own token
        for method, operation in operations.items():
            if operation.get("security") == []:
                continue
            url = api.url + path.replace("{", "").replace("}", "")
            response = httpx.request(method.upper(), url, json={} if method in {"post", "put", "patch"} else None)
            assert response.status_code == 401, f"{method.upper()} {path}: {response.status_code} {response.text}"
            checked += 1
    assert checked >= 50, checked


def test_expired_key_is_refused(api: ApiServer) -> None:
    expired = api.create_key(unique("sa"), ["escalation_policies:read"], expires_at="2020-01-01T00:00:00Z")
    future = api.create_key(unique("sa"), ["escalation_policies:read"], expires_at="2999-01-01T00:00:00Z")
    with api.client(expired) as client:
        problem(client.get("/v1/escalation-policies"), 401, "unauthenticated")
    with api.client(future) as client:
        assert client.get("/v1/escalation-policies").status_code == 200


def test_scopes_are_enforced_per_resource_and_level(api: ApiServer) -> None:
    reader = api.create_key(unique("sa"), ["escalation_policies:read"])
    writer = api.create_key(unique("sa"), ["escalation_policies:write"])
    manager = api.create_key(unique("sa"), ["escalation_policies:manage"])
    body = {"spec": ESCALATION, "manager": {"identity": "k8s://scopes/x"}}
    with api.client(reader) as client:
        problem(
            client.put(f"/v1/escalation-policies/{unique('e')}", json={"spec": ESCALATION}), 403, "insufficient-scope"
        )
        problem(client.get("/v1/alert-policies"), 403, "insufficient-scope")
    with api.client(writer) as client:
        assert client.put(f"/v1/escalation-policies/{unique('e')}", json={"spec": ESCALATION}).status_code == 201
        denied = problem(client.put(f"/v1/escalation-policies/{unique('e')}", json=body), 403, "insufficient-scope")
        assert "escalation_policies:manage" in denied["detail"]
    with api.client(manager) as client:
        assert client.put(f"/v1/escalation-policies/{unique('e')}", json=body).status_code == 201
        problem(client.post("/v1/service-accounts", json={"name": unique("sa")}), 403, "insufficient-scope")


def test_keys_are_shown_once_and_stored_hashed(api: ApiServer, admin: httpx.Client) -> None:
    account = unique("sa")
    admin.post("/v1/service-accounts", json={"name": account})
    created = admin.post(f"/v1/service-accounts/{account}/api-keys", json={"scopes": ["teams:read"], "name": "ci"})
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    key = created.json()["key"]
    assert key.startswith("sc_")
    listed = admin.get(f"/v1/service-accounts/{account}/api-keys")
    assert key not in listed.text
    assert "hash" not in listed.text
    stored = [row[0] for row in api.query("SELECT hash FROM api_keys")]
    assert key not in stored, "keys are stored hashed"
    assert all(value not in listed.text for value in stored), "no key hash in any response"
    problem(
        admin.post(f"/v1/service-accounts/{account}/api-keys", json={"scopes": ["teams:fly"]}), 422, "validation-failed"
    )
    problem(
        admin.post(f"/v1/service-accounts/{unique('nobody')}/api-keys", json={"scopes": ["teams:read"]}),
        404,
        "not-found",
    )


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path, new_database: Callable[[], str | None]) -> None:
    limits = ["--rate-limit", "1", "--events-rate-limit", "1"]
    server = running_api_server(tmp_path / "limited", extra_args=limits, directory=False, database_url=new_database())
    with server as api, api.client() as client:
        # The Events API is limited per routing key (unknown keys per client address, see the Events API tests).
        for routing_key in ("rk-a", "rk-b"):
            spec = {"severity": "info", "routing_key": routing_key}
            put_while_limited(client, f"/v1/alert-policies/{routing_key}", {"spec": spec})
        events = [
            httpx.post(
                f"{api.url}/v1/events", json={"routing_key": "rk-a", "event_action": "resolve", "dedup_key": "d"}
            )
            for _ in range(4)
        ]
        throttled = problem(events[-1], 429, "rate-limited")
        assert "per-routing-key" in throttled["detail"]
        assert int(events[-1].headers["retry-after"]) >= 1
        other = {"routing_key": "rk-b", "event_action": "resolve", "dedup_key": "d"}
        assert httpx.post(f"{api.url}/v2/enqueue", json=other).status_code == 202, "another key has its own bucket"

        statuses = []
        for _ in range(4):
            response = client.get("/v1/teams")
            statuses.append(response.status_code)
            if response.status_code == 200:
                assert response.headers["ratelimit-policy"]
                assert response.headers["ratelimit"]
        assert 429 in statuses
        limited = client.get("/v1/teams")
        body = problem(limited, 429, "rate-limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert "retry after" in body["detail"]
        # A 429 is never stored under an Idempotency-Key: the retry runs for real.
        key = str(uuid.uuid4())
        refused = client.post("/v1/service-accounts", json={"name": "late"}, headers={"Idempotency-Key": key})
        assert refused.status_code == 429

        def retried() -> httpx.Response | None:
            again = client.post("/v1/service-accounts", json={"name": "late"}, headers={"Idempotency-Key": key})
            return again if again.status_code != 429 else None

        accepted = wait_until(retried, timeout=10, interval=0.5, what="the rate limit to let a request through")
        assert isinstance(accepted, httpx.Response)
        assert accepted.status_code == 201
        assert "idempotent-replayed" not in accepted.headers


def put_while_limited(client: httpx.Client, path: str, body: dict[str, object]) -> None:
    """PUT, retrying while the principal's rate limit answers 429."""
    wait_until(lambda: client.put(path, json=body).status_code in {200, 201}, timeout=20, interval=0.5, what=path)


def test_bootstrap_prints_a_working_admin_key(tmp_path: Path, new_database: Callable[[], str | None]) -> None:
    with running_api_server(tmp_path / "fresh", database_url=new_database()) as api, api.client() as client:
        assert client.get("/v1/service-accounts").json()["items"][0]["name"] == "admin"


def test_keys_carry_at_most_their_issuers_scopes(api: ApiServer) -> None:
    issuer = api.create_key(unique("sa"), ["service_accounts:manage", "teams:write"])
    account = unique("sa")
    path = f"/v1/service-accounts/{account}/api-keys"
    with api.client(issuer) as client:
        assert client.post("/v1/service-accounts", json={"name": account}).status_code == 201
        assert client.post(path, json={"scopes": ["teams:read"]}).status_code == 201, "read is part of write"
        assert client.post(path, json={"scopes": ["teams:write"]}).status_code == 201
        for wider in (["teams:manage"], ["integrations:read_secrets"], ["*"], ["teams:read", "events:write"]):
            problem(client.post(path, json={"scopes": wider}), 403, "insufficient-scope")
    with api.client() as admin:
        problem(admin.post(path, json={"scopes": ["widgets:read"]}), 422, "validation-failed")


def test_managing_accounts_needs_every_scope_they_hold(api: ApiServer, admin: httpx.Client) -> None:
    """`service_accounts:manage` is no way around scopes: an account holding a scope its caller lacks cannot be
    disabled, enabled, deleted or have its keys revoked by that caller (an admin-holding account stays in service)."""
    manager = api.create_key(unique("sa"), ["service_accounts:manage", "teams:write"])
    stronger, weaker = unique("sa"), unique("sa")
    api.create_key(stronger, ["integrations:read_secrets"])
    strong_key = admin.post(f"/v1/service-accounts/{stronger}/api-keys", json={"scopes": ["teams:read"]}).json()
    api.create_key(weaker, ["teams:read"])
    with api.client(manager) as client:
        for refused in (
            client.post(f"/v1/service-accounts/{stronger}:disable"),
            client.post(f"/v1/service-accounts/{stronger}:enable"),
            client.delete(f"/v1/service-accounts/{stronger}"),
            client.post(f"/v1/api-keys/{strong_key['id']}:revoke"),
            client.post("/v1/service-accounts/admin:disable"),
        ):
            body = problem(refused, 403, "insufficient-scope")
            assert "holds" in body["detail"], body
        assert admin.get(f"/v1/service-accounts/{stronger}").json()["disabled"] is False
        keys = admin.get(f"/v1/service-accounts/{stronger}/api-keys").json()["items"]
        assert all(key["revoked_at"] is None for key in keys), "nothing was revoked"
        # within its own scopes the manager manages as before
        assert client.post(f"/v1/service-accounts/{weaker}:disable").json()["disabled"] is True
        assert client.post(f"/v1/service-accounts/{weaker}:enable").json()["disabled"] is False
        (weak_key,) = admin.get(f"/v1/service-accounts/{weaker}/api-keys").json()["items"]
        assert client.post(f"/v1/api-keys/{weak_key['id']}:revoke").json()["revoked_at"]
        assert client.delete(f"/v1/service-accounts/{weaker}").status_code == 204
        problem(client.post("/v1/api-keys/key_0000000000000000:revoke"), 404, "not-found")


def test_disabled_and_deleted_accounts_lose_their_keys(api: ApiServer, admin: httpx.Client) -> None:
    account = unique("sa")
    key = api.create_key(account, ["teams:read"])
    with api.client(key) as client:
        assert client.get("/v1/teams").status_code == 200
        disabled = admin.post(f"/v1/service-accounts/{account}:disable")
        assert disabled.json()["disabled"] is True
        problem(client.get("/v1/teams"), 401, "unauthenticated")
        assert admin.post(f"/v1/service-accounts/{account}:enable").json()["disabled"] is False
        assert client.get("/v1/teams").status_code == 200
        assert admin.delete(f"/v1/service-accounts/{account}").status_code == 204
        problem(client.get("/v1/teams"), 401, "unauthenticated")
    problem(admin.get(f"/v1/service-accounts/{account}"), 404, "not-found")
    problem(admin.delete("/v1/service-accounts/admin"), 409, "own-account")
    problem(admin.post("/v1/service-accounts/admin:disable"), 409, "own-account")
    problem(admin.post("/v1/service-accounts", json={"name": "admin"}), 409, "already-exists")


def test_replayed_key_creation_never_shows_the_key_again(api: ApiServer, admin: httpx.Client) -> None:
    account = unique("sa")
    admin.post("/v1/service-accounts", json={"name": account}).raise_for_status()
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/v1/service-accounts/{account}/api-keys"
    first = admin.post(path, json={"scopes": ["teams:read"]}, headers=headers)
    replay = admin.post(path, json={"scopes": ["teams:read"]}, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert first.json()["key"].startswith(first.json()["prefix"] + "_")
    assert replay.json() == {**first.json(), "key": None}
    assert len(admin.get(path).json()["items"]) == 1, "the replay created nothing"
    stored = b"".join(bytes(row[0]) for row in api.query("SELECT body FROM idempotency WHERE body IS NOT NULL"))
    assert first.json()["key"].encode() not in stored, "the key is not kept for replays"
