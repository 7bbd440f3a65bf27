"""A 2xx from the in-cluster webhook is a promise: whatever body got one reaches the real API (a `signalcraft api`
process over loopback HTTP), and none of it becomes a dead letter. Bodies come from the documented Alertmanager
schema, with what real senders add: lone UTF-16 surrogates and bytes that are not UTF-8, label values near their
bounds, and alert counts beyond what one `POST /v1/alert-events` may carry (the webhook splits those)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from tests.support.alertmanager_schema import webhook_body
from tests.support.api_server import ApiServer
from tests.support.processes import free_port, serving_in_thread, wait_until

from signalcraft.api import SignalCraftClient
from signalcraft.api.alerts import AlertEvent, AlertStatus
from signalcraft.ingest.app import WebhookConfig, create_webhook_app
from signalcraft.ingest.config import Integration, secret
from signalcraft.ingest.pipeline import batches
from signalcraft.ingest.sources.base import load_json
from signalcraft.ingest.spool import Spool


@dataclass
class Webhook:
    url: str
    api: ApiServer
    reader: str

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name
        )

    def post(self, body: bytes) -> httpx.Response:
        return httpx.post(
            f"{self.url}/alertmanager", content=body, headers={"Authorization": "Bearer am-token"}, timeout=30
        )

    def alerts_of(self, group_key: str) -> int:
        with self.api.client(self.reader) as http:
            found = [
                group
                for group in http.get("/v1/alert-groups", params={"integration": "prop", "limit": 500}).json()["items"]
                if group["group_key"] == group_key
            ]
        return sum(group["alert_count"] for group in found)


@pytest.fixture(scope="module")
def webhook(api: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    workdir = tmp_path_factory.mktemp("webhook")
    (workdir / "token").write_text("am-token")
    key = api.create_key("prop-webhook", ["events:write"])
    reader = api.create_key("prop-reader", ["alert_groups:read"])
    config = WebhookConfig(
        integrations=[Integration("prop", ("alertmanager",), token=secret(workdir / "token"))], cluster_name="prop"
    )
    app = create_webhook_app(
        config, Spool(workdir / "spool.db"), lambda: SignalCraftClient(api.url, key, max_retries=0)
    )
    port = free_port()
    with serving_in_thread(app, port):
        yield Webhook(f"http://127.0.0.1:{port}", api, reader)


SURROGATES = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)


@st.composite
def hostile_body(draw: st.DrawFn) -> tuple[bytes, str, int]:
    """(body, the group key the API will show, how many distinct alerts it carries)."""
    body: dict[str, Any] = draw(webhook_body())
    body["groupKey"] = f"prop-{draw(st.uuids())}-" + draw(st.one_of(st.just(""), SURROGATES))
    alerts = body["alerts"]
    copies = draw(st.sampled_from([1, 1, 1, 300, 1200]))
    if copies > 1:
        alerts = [
            {**alerts[0], "labels": {**alerts[0]["labels"], "n": str(index)}, "fingerprint": f"{index:016x}"}
            for index in range(copies)
        ]
        body["alerts"] = alerts
    else:
        body["alerts"][0]["labels"]["odd"] = draw(SURROGATES) + "x" * draw(st.sampled_from([0, 4000]))
        body["alerts"][0]["fingerprint"] = "0" * 15 + "1"
        body["alerts"] = body["alerts"][:1]
    encoded = json.dumps(body).encode()  # ensure_ascii: lone surrogates travel as \udXXX escapes
    if draw(st.booleans()):
        encoded = encoded.replace(b'"receiver": "', b'"receiver": "\xff\xfe', 1)  # not UTF-8 at all
    group_key = load_json(json.dumps(body["groupKey"]).encode())  # surrogate pairs join, lone ones become U+FFFD
    return encoded, group_key, len(body["alerts"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=hostile_body())
def test_every_acknowledged_body_reaches_the_api(webhook: Webhook, case: tuple[bytes, str, int]) -> None:
    body, group_key, alerts = case
    response = webhook.post(body)
    if response.status_code != 202:
        assert response.status_code in (400, 413), response.text  # refused with a reason: no promise made
        return
    assert response.json()["accepted"] == alerts
    wait_until(lambda: webhook.alerts_of(group_key) == alerts, timeout=180, what=f"{alerts} alerts in the API")
    assert webhook.metric("signalcraft_webhook_dead_letters") == 0
    assert webhook.metric("signalcraft_webhook_dead_lettered_total") == 0


def test_a_body_beyond_one_batch_is_split_and_delivered_whole(webhook: Webhook) -> None:
    body = {
        "version": "4",
        "groupKey": "prop-split",
        "status": "firing",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "Split", "n": str(n)}, "fingerprint": f"{n:016x}"}
            for n in range(2500)
        ],
    }
    before = webhook.metric("signalcraft_webhook_delivered_total")
    response = webhook.post(json.dumps(body).encode())
    assert response.status_code == 202
    assert response.json() == {"accepted": 2500}
    wait_until(lambda: webhook.alerts_of("prop-split") == 2500, timeout=180, what="2500 alerts in the API")
    assert webhook.metric("signalcraft_webhook_delivered_total") - before >= 3, "three entries of at most 1000"


def test_json_escapes_the_api_refuses_are_repaired_before_the_answer(webhook: Webhook, tmp_path: Path) -> None:
    body = (
        b'{"version":"4","groupKey":"prop-unicode","status":"firing","alerts":[{"status":"firing",'
        b'"labels":{"alertname":"Lone\\ud800","bad":"\xc3\x28","nul":"a\\u0000b"},'
        b'"annotations":{"summary":"\\udfff end"}}]}'
    )
    assert webhook.post(body).status_code == 202
    wait_until(lambda: webhook.alerts_of("prop-unicode") == 1, timeout=120, what="the repaired alert in the API")
    with webhook.api.client(webhook.reader) as http:
        (group,) = [
            group
            for group in http.get("/v1/alert-groups", params={"integration": "prop"}).json()["items"]
            if group["group_key"] == "prop-unicode"
        ]
        (alert,) = http.get(f"/v1/alert-groups/{group['id']}/alerts").json()
    assert alert["labels"]["alertname"] == "Lone\ufffd"
    assert alert["labels"]["bad"] == "\ufffd("
    assert alert["labels"]["nul"] == "a\ufffdb"  # PostgreSQL's text holds no NUL
    assert alert["summary"] == "\ufffd end"


def test_drain_delivers_a_spool_no_webhook_serves_and_exits(api: ApiServer, webhook: Webhook, tmp_path: Path) -> None:
    """What the chart README prescribes for a replica scaled away: `signalcraft webhook drain` on its claim."""
    event = AlertEvent(
        source="alertmanager",
        integration="prop",
        group_key="prop-drained",
        dedup_key="d1",
        status=AlertStatus.FIRING,
        summary="left behind",
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
    )

    async def leave_behind() -> None:
        spool = Spool(tmp_path / "orphan.db")
        await spool.open()
        await spool.append(batches([event]))
        await spool.close()

    asyncio.run(leave_behind())
    (tmp_path / "key").write_text(api.create_key("drainer", ["events:write"]))
    argv = ["webhook", "drain", "--spool", str(tmp_path / "orphan.db"), "--api-url", api.url]
    result = subprocess.run(
        [sys.executable, "-m", "signalcraft", *argv, "--api-key-file", str(tmp_path / "key"), "--timeout", "60"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the spool is empty" in result.stdout
    assert webhook.alerts_of("prop-drained") == 1
