"""One-time invite links for people: shown once, stored hashed, a new one replaces the old, scope users:write."""

from __future__ import annotations

import sqlite3

import httpx
from tests.contract.test_api_resources import unique
from tests.support.api_server import ApiServer


def test_invite_links_are_one_time_and_replace_each_other(admin: httpx.Client, api: ApiServer) -> None:
    name = unique("person")
    admin.put(f"/v1/users/{name}", json={"spec": {"email": f"{name}@example.com"}}).raise_for_status()
    first = admin.post(f"/v1/users/{name}:invite")
    assert first.status_code == 200
    link = first.json()["invite_url"]
    assert link.startswith(f"{api.url}/ui/invite/")
    assert httpx.get(link).status_code == 200
    second = admin.post(f"/v1/users/{name}:invite").json()["invite_url"]
    assert httpx.get(link).status_code == 404  # replaced
    assert httpx.get(second).status_code == 200
    token = second.rsplit("/", 1)[1]
    if api.database_url is None:  # the SQLite file as stored: only the hash is kept
        with sqlite3.connect(api.db_path) as raw:
            stored = "".join(str(row) for row in raw.execute("SELECT secrets, spec, status FROM resources"))
        assert token not in stored
    user = admin.get(f"/v1/users/{name}").json()
    assert token not in str(user)
    assert admin.post("/v1/users/nobody-here:invite").status_code == 404


def test_inviting_needs_users_write(api: ApiServer) -> None:
    reader = api.create_key(unique("reader"), ["users:read"])
    with api.client(reader) as client:
        answer = client.post("/v1/users/anyone:invite")
    assert answer.status_code == 403
    assert answer.json()["code"] == "insufficient-scope"
