"""Users (invite = create), the workspace's settings, and references to users, schedules and teams that must exist."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.contract.helpers import MANAGER, problem, put, unique


def new_user(admin: httpx.Client, **spec: Any) -> str:
    name = unique("user")
    body = {"display_name": f"User {name}", "spec": {"email": f"{name}@example.com", **spec}}
    put(admin, "users", name, body).raise_for_status()
    return name


def layer(*users: str) -> dict[str, Any]:
    return {"name": "weekly", "start": "2026-01-05T09:00:00Z", "rotation_turn_length_seconds": 604800, "users": users}


def test_inviting_a_user_is_creating_one(admin: httpx.Client) -> None:
    name = unique("user")
    body = {"display_name": "Ada Lovelace", "spec": {"email": f"{name}@example.com", "role": "admin"}}
    created = put(admin, "users", name, body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["id"].startswith("usr_")
    assert user["display_name"] == "Ada Lovelace"
    assert user["spec"] == {"email": f"{name}@example.com", "role": "admin"}
    assert user["status"]["invite_state"] == "invited"
    assert created.content == admin.get(f"/v1/users/{name}").content
    changed = put(admin, "users", name, {**body, "spec": {**body["spec"], "role": "observer"}})
    assert changed.status_code == 200
    assert changed.json()["status"] == user["status"], "the invite stays as it was on a role change"
    assert changed.json()["version"] == 2
    assert admin.get("/v1/users", params={"name": name}).json()["items"] == [changed.json()]


def test_the_role_defaults_to_responder_and_is_one_of_four(admin: httpx.Client) -> None:
    name = new_user(admin)
    assert admin.get(f"/v1/users/{name}").json()["spec"]["role"] == "responder"
    body = problem(
        put(admin, "users", unique("u"), {"spec": {"email": "x@example.com", "role": "root"}}), 422, "validation-failed"
    )
    assert body["errors"][0]["pointer"] == "/spec/role"


@pytest.mark.parametrize("email", ["not-an-email", "two@@example.com", "a b@example.com", ""])
def test_an_email_address_is_checked(admin: httpx.Client, email: str) -> None:
    body = problem(put(admin, "users", unique("u"), {"spec": {"email": email}}), 422, "validation-failed")
    assert body["errors"][0]["pointer"] == "/spec/email"


def test_two_users_cannot_share_an_email_address(admin: httpx.Client) -> None:
    first = new_user(admin)
    taken = put(admin, "users", unique("u"), {"spec": {"email": f"{first.upper()}@EXAMPLE.com"}})
    assert problem(taken, 409, "already-exists")["existing"] == {"name": first}


def test_references_to_people_schedules_and_teams_must_exist(admin: httpx.Client) -> None:
    ghost = unique("ghost")
    for target_type in ("user", "schedule", "team"):
        spec = {"rules": [{"delay_minutes": 0, "targets": [{"type": target_type, "name": ghost}]}]}
        refused = problem(put(admin, "escalation-policies", unique("esc"), {"spec": spec}), 422, "reference-not-found")
        assert refused["errors"] == [
            {"pointer": "/spec/rules/0/targets/0/name", "detail": f"unknown {target_type}s {ghost!r}"}
        ]
    by_id = {"rules": [{"delay_minutes": 0, "targets": [{"type": "user", "id": "usr_0000000000000000"}]}]}
    assert problem(put(admin, "escalation-policies", unique("esc"), {"spec": by_id}), 422, "reference-not-found")
    alice = new_user(admin)
    schedule = {"layers": [layer(alice, ghost)]}
    refused = problem(put(admin, "schedules", unique("sch"), {"spec": schedule}), 422, "reference-not-found")
    assert refused["errors"][0]["pointer"] == "/spec/layers/0/users/1"
    team = {"members": [{"user": alice}, {"user": ghost}]}
    refused = problem(put(admin, "teams", unique("team"), {"spec": team}), 422, "reference-not-found")
    assert refused["errors"][0]["pointer"] == "/spec/members/1/user"


def test_a_referenced_user_cannot_be_deleted_and_the_answer_names_every_referrer(admin: httpx.Client) -> None:
    user = new_user(admin)
    user_id = admin.get(f"/v1/users/{user}").json()["id"]
    schedule, team, policy = unique("sch"), unique("team"), unique("esc")
    put(admin, "schedules", schedule, {"spec": {"layers": [layer(user)]}}).raise_for_status()
    put(admin, "teams", team, {"spec": {"members": [{"user": user, "role": "manager"}]}}).raise_for_status()
    targets = [{"type": "user", "id": user_id}, {"type": "schedule", "name": schedule}, {"type": "team", "name": team}]
    put(admin, "escalation-policies", policy, {"spec": {"rules": [{"delay_minutes": 0, "targets": targets}]}})
    blocked = problem(admin.delete(f"/v1/users/{user}"), 409, "in-use")
    assert blocked["referenced_by"] == [
        {"collection": "teams", "name": team},
        {"collection": "schedules", "name": schedule},
        {"collection": "escalation-policies", "name": policy},
    ]
    assert f"escalation-policies/{policy}" in blocked["detail"]
    schedule_blocked = problem(admin.delete(f"/v1/schedules/{schedule}"), 409, "in-use")
    assert schedule_blocked["referenced_by"] == [{"collection": "escalation-policies", "name": policy}]
    assert problem(admin.delete(f"/v1/teams/{team}"), 409, "in-use")["referenced_by"] == [
        {"collection": "escalation-policies", "name": policy}
    ]
    for collection, name in (("escalation-policies", policy), ("teams", team), ("schedules", schedule)):
        assert admin.delete(f"/v1/{collection}/{name}").status_code == 204
    assert admin.delete(f"/v1/users/{user}").status_code == 204
    assert admin.get(f"/v1/users/{user}").status_code == 404


def test_user_scopes_guard_users(api: Any) -> None:
    reader = api.create_key(unique("sa"), ["users:read"])
    with api.client(reader) as client:
        assert client.get("/v1/users").status_code == 200
        problem(put(client, "users", unique("u"), {"spec": {"email": "r@example.com"}}), 403, "insufficient-scope")


# ------------------------------------------------------------------ the workspace


def test_the_workspace_exists_with_defaults_and_is_replaced_with_if_match(admin: httpx.Client) -> None:
    current = admin.get("/v1/workspace")
    assert current.status_code == 200
    workspace = current.json()
    assert workspace["name"] == "workspace"
    assert set(workspace["spec"]) == {"time_zone", "default_severity", "notifications"}
    etag = current.headers["etag"]
    settings = {
        "time_zone": "Europe/Berlin",
        "default_severity": "warning",
        "notifications": {"channels": ["email", "push"], "reminder_minutes": 15, "notify_on_resolve": False},
    }
    body = {"display_name": "Acme Operations", "spec": settings}
    written = admin.put("/v1/workspace", json=body, headers={"If-Match": etag})
    assert written.status_code == 200, written.text
    assert written.json()["spec"] == settings
    assert written.json()["display_name"] == "Acme Operations"
    assert written.content == admin.get("/v1/workspace").content
    problem(admin.put("/v1/workspace", json=body, headers={"If-Match": etag}), 412, "precondition-failed")
    not_modified = admin.get("/v1/workspace", headers={"If-None-Match": written.headers["etag"]})
    assert not_modified.status_code == 304


@pytest.mark.parametrize(
    ("spec", "pointer"),
    [
        ({"time_zone": "Mars/Olympus"}, "/spec/time_zone"),
        ({"default_severity": "fatal"}, "/spec/default_severity"),
        ({"notifications": {"channels": []}}, "/spec/notifications/channels"),
        ({"notifications": {"reminder_minutes": 5000}}, "/spec/notifications/reminder_minutes"),
    ],
)
def test_workspace_settings_are_checked(admin: httpx.Client, spec: dict[str, Any], pointer: str) -> None:
    body = problem(admin.put("/v1/workspace", json={"spec": spec}), 422, "validation-failed")
    assert body["errors"][0]["pointer"] == pointer


def test_a_managed_workspace_is_written_only_by_its_manager_and_reset_returns_the_defaults(
    admin: httpx.Client,
) -> None:
    manager = {**MANAGER, "kind": "terraform", "identity": "terraform://ops"}
    admin.put("/v1/workspace", json={"spec": {"time_zone": "Asia/Tokyo"}, "manager": manager}).raise_for_status()
    problem(admin.put("/v1/workspace", json={"spec": {"time_zone": "UTC"}}), 409, "ownership-conflict")
    problem(admin.delete("/v1/workspace"), 409, "ownership-conflict")
    before = admin.get("/v1/workspace").json()
    reset = admin.delete("/v1/workspace", params={"manager_identity": "terraform://ops"})
    assert reset.status_code == 200, reset.text
    assert reset.json()["spec"] == {
        "time_zone": "UTC",
        "default_severity": "error",
        "notifications": {"channels": ["email"], "reminder_minutes": 0, "notify_on_resolve": True},
    }
    assert reset.json()["manager"] is None
    assert reset.json()["version"] == before["version"] + 1, "versions never go back, so old ETags stay stale"
