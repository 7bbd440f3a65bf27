"""Rotating an integration's webhook token: the old token stops working at once, ownership and scopes apply."""

from __future__ import annotations

import httpx
from tests.contract.test_api_resources import unique
from tests.support.api_server import ApiServer

AM_BODY = {"version": "4", "status": "firing", "groupKey": "g", "receiver": "r", "alerts": []}


def test_rotate_replaces_the_token(admin: httpx.Client) -> None:
    name = unique("rot")
    admin.put(f"/v1/integrations/{name}", json={"spec": {"type": "alertmanager"}}).raise_for_status()
    before = admin.get(f"/v1/integrations/{name}").json()
    old = admin.get(f"/v1/integrations/{name}/connection").json()
    rotated = admin.post(f"/v1/integrations/{name}/connection:rotate")
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["webhook_token"] != old["webhook_token"]
    assert new["integration_key"] == old["integration_key"]
    assert httpx.post(old["webhook_url"], json=AM_BODY).status_code == 401
    assert httpx.post(new["webhook_url"], json=AM_BODY).status_code == 202
    after = admin.get(f"/v1/integrations/{name}").json()
    assert after["version"] == before["version"] + 1
    assert after["status"]["webhook_token_hint"] == new["webhook_token"][-4:]
    assert admin.post("/v1/integrations/absent/connection:rotate").status_code == 404


def test_rotate_respects_the_manager_and_scopes(admin: httpx.Client, api: ApiServer) -> None:
    name = unique("rot")
    manager = {"kind": "kubernetes", "identity": "k8s://c/ns/x"}
    admin.put(f"/v1/integrations/{name}", json={"spec": {"type": "grafana"}, "manager": manager}).raise_for_status()
    refused = admin.post(f"/v1/integrations/{name}/connection:rotate")
    assert refused.status_code == 409
    assert refused.json()["code"] == "ownership-conflict"
    by_manager = admin.post(
        f"/v1/integrations/{name}/connection:rotate", params={"manager_identity": manager["identity"]}
    )
    assert by_manager.status_code == 200
    writer = api.create_key(unique("writer"), ["integrations:write"])
    with api.client(writer) as client:
        lacking = client.post(f"/v1/integrations/{name}/connection:rotate")
    assert lacking.status_code == 403
    assert lacking.json()["code"] == "insufficient-scope"
