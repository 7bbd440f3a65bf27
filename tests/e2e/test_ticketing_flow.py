"""The loop closed end to end: a real Alertmanager alert (critical) → in-cluster webhook → alert group in the API →
one Jira ticket / ServiceNow incident → the ticket is closed there → the alert group resolves."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.api_server import ApiServer, running_api_server
from tests.support.processes import wait_until
from tests.support.ticketing import FakeJira, FakeServiceNow, serving
from tests.support.webhook import running_alertmanager, running_webhook

pytestmark = pytest.mark.e2e

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with running_api_server(tmp_path / "api") as server:
        yield server


def only_group(api: ApiServer, integration: str) -> dict[str, Any] | None:
    with api.client() as client:
        items = client.get("/v1/alert-groups", params={"integration": integration}).json()["items"]
    return items[0] if len(items) == 1 else None


def test_alertmanager_to_jira_and_back(api: ApiServer, tmp_path: Path) -> None:
    with serving(FakeJira()) as jira, api.client() as admin:
        spec = {"type": "jira", "jira": {"base_url": jira.url, "project_key": "SRE"}}
        credentials = {"email": jira.email, "api_token": jira.api_token, "webhook_secret": "s"}
        admin.put("/v1/integrations/jira", json={"spec": spec, "credentials": credentials}).raise_for_status()
        inbound = admin.get("/v1/integrations/jira/connection").json()["webhook_url"]
        with (
            running_webhook(api, tmp_path / "webhook", "prod-am") as webhook,
            running_alertmanager(tmp_path / "am", webhook) as alertmanager,
        ):
            alertmanager.fire(
                {"labels": {"alertname": "ApiDown", "severity": "critical"}, "annotations": {"summary": "5xx"}}
            )
            group = wait_until(
                lambda: (g := only_group(api, "prod-am")) and (g.get("ticket") or {}).get("jira", {}).get("key") and g,
                timeout=60,
                what="the group and its Jira ticket",
            )
            assert isinstance(group, dict)
            key = group["ticket"]["jira"]["key"]
            assert [fields["summary"] for fields in jira.created] == ["[CRITICAL] 5xx"]

            document = json.loads(
                (PAYLOADS / "jira-webhook/cloud-issue-updated-status-to-done-with-resolution.json").read_text()
            )
            document["issue"]["key"] = key
            body = json.dumps(document).encode()
            signature = "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest()
            assert httpx.post(inbound, content=body, headers={"X-Hub-Signature": signature}).status_code == 202
            resolved = only_group(api, "prod-am")
            assert resolved is not None
            assert resolved["status"] == "resolved"
            assert len(jira.created) == 1
            assert jira.transitions == []


def test_alertmanager_to_servicenow_and_back(api: ApiServer, tmp_path: Path) -> None:
    with serving(FakeServiceNow()) as servicenow, api.client() as admin:
        spec = {"type": "servicenow", "servicenow": {"instance_url": servicenow.url}}
        credentials = {"username": servicenow.username, "password": servicenow.password}
        admin.put("/v1/integrations/snow", json={"spec": spec, "credentials": credentials}).raise_for_status()
        inbound = admin.get("/v1/integrations/snow/connection").json()["webhook_url"]
        with (
            running_webhook(api, tmp_path / "webhook", "prod-am") as webhook,
            running_alertmanager(tmp_path / "am", webhook) as alertmanager,
        ):
            alertmanager.fire({"labels": {"alertname": "QueueStuck", "severity": "critical"}})
            group = wait_until(
                lambda: (g := only_group(api, "prod-am")) and (g.get("ticket") or {}).get("snow", {}).get("key") and g,
                timeout=60,
                what="the group and its incident",
            )
            assert isinstance(group, dict)
            (incident,) = servicenow.incidents.values()
            assert incident["correlation_id"] == group["id"]
            closed = {"number": incident["number"], "state": "7", "correlation_id": group["id"]}
            assert httpx.post(inbound, json=closed).json()["status"] == "resolved"
            resolved = only_group(api, "prod-am")
            assert resolved is not None
            assert resolved["status"] == "resolved"
