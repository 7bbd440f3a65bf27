"""The webhook app over real HTTP (uvicorn on loopback) with a real SQLite spool: authentication per integration,
reasons for refusals, 503 when the spool cannot take more, SNS confirmation, and never a 5xx for a bad body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from tests.support.payloads import PAYLOADS
from tests.support.processes import free_port, serving_in_thread, wait_until
from tests.support.sns import FakeSns, fake_sns

from signalcraft.api import SignalCraftClient
from signalcraft.ingest.app import WebhookConfig, create_webhook_app
from signalcraft.ingest.config import ConfigError, Integration, load_integrations, secret
from signalcraft.ingest.sources.cloudwatch import SnsSettings
from signalcraft.ingest.sources.registry import SOURCE_NAMES
from signalcraft.ingest.spool import Spool

FIRING = (PAYLOADS / "alertmanager/alertmanager-bot-firing-v4-nonzero-endsat.json").read_bytes()


@dataclass
class Webhook:
    url: str
    spool: Path

    def post(self, path: str, body: bytes, token: str | None = "am-token", **headers: str) -> httpx.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.post(f"{self.url}{path}", content=body, headers=headers, timeout=10)

    def stored(self) -> list[dict[str, Any]]:
        with sqlite3.connect(self.spool) as db:
            rows = db.execute("SELECT payload FROM entries ORDER BY id").fetchall()
        return [event for (payload,) in rows for event in json.loads(payload)]

    def metric(self, name: str, **labels: str) -> float:
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )


@contextmanager
def serve(
    tmp_path: Path,
    config: WebhookConfig,
    capacity: int = 1000,
    connect: Callable[[], SignalCraftClient] | None = None,
) -> Iterator[Webhook]:
    spool_path = tmp_path / "spool.db"
    port = free_port()
    app = create_webhook_app(config, Spool(spool_path, capacity=capacity), connect)
    with serving_in_thread(app, port):
        yield Webhook(f"http://127.0.0.1:{port}", spool_path)


def single(tmp_path: Path, **config: Any) -> WebhookConfig:
    (tmp_path / "token").write_text("am-token\n")
    integration = Integration("cluster-am", ("alertmanager", "gcp-monitoring"), token=secret(tmp_path / "token"))
    return WebhookConfig(integrations=[integration], **config)


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[Webhook]:
    with serve(tmp_path, single(tmp_path, cluster_name="prod-eu")) as running:
        yield running


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["detail"]
    return body


def test_accepts_with_its_token_and_adds_cluster_context(webhook: Webhook) -> None:
    accepted = webhook.post("/alertmanager", FIRING)
    assert accepted.status_code == 202
    assert accepted.json() == {"accepted": 1}
    (event,) = webhook.stored()
    assert event["integration"] == "cluster-am"
    assert event["group_key"] == '{}:{alertname="Fire"}'
    assert event["labels"] == {"k8s_cluster": "prod-eu", "alertname": "Fire", "severity": "critical"}
    query = httpx.post(f"{webhook.url}/api/v1/webhooks/alertmanager", params={"token": "am-token"}, content=FIRING)
    assert query.status_code == 202, "a URL token works too"
    assert webhook.metric("signalcraft_webhook_received_total", source="alertmanager") == 2


def test_refusals_carry_a_reason_and_store_nothing(webhook: Webhook) -> None:
    problem(webhook.post("/alertmanager", FIRING, token=None), 401, "unauthenticated")
    wrong = problem(webhook.post("/alertmanager", FIRING, token="am-tokex"), 401, "unauthenticated")
    assert "am-token" not in json.dumps(wrong)
    no_alerts = problem(webhook.post("/alertmanager", b'{"version": "4", "groupKey": "g"}'), 400, "invalid-payload")
    assert "alerts must be a list" in no_alerts["detail"]
    problem(webhook.post("/alertmanager", b"not json"), 400, "invalid-payload")
    problem(webhook.post("/alertmanager", b"{" + b" " * (1024 * 1024) + b"}"), 413, "payload-too-large")
    problem(webhook.post("/api/v1/webhooks/grafana", FIRING), 404, "unknown-source")
    problem(webhook.post("/api/v1/webhooks/jira", FIRING), 404, "unknown-source")
    assert webhook.stored() == []
    assert webhook.metric("signalcraft_webhook_rejected_total", reason="unauthenticated") == 2
    assert webhook.metric("signalcraft_webhook_rejected_total", reason="invalid-payload") == 2
    assert httpx.get(f"{webhook.url}/readyz").status_code == 200


def test_full_spool_answers_503_with_retry_after(tmp_path: Path) -> None:
    with serve(tmp_path, single(tmp_path), capacity=2) as running:
        assert [running.post("/alertmanager", FIRING).status_code for _ in range(2)] == [202, 202]
        refused = problem(running.post("/alertmanager", FIRING), 503, "spool-full")
        assert refused["status"] == 503
        full = running.post("/alertmanager", FIRING)
        assert full.headers["retry-after"] == "10"
        assert httpx.get(f"{running.url}/readyz").status_code == 503
        assert httpx.get(f"{running.url}/healthz").status_code == 200, "alive, just not ready"
        assert running.metric("signalcraft_webhook_spool_depth") == 2
        assert running.metric("signalcraft_webhook_rejected_total", reason="spool-full") == 2


def test_integrations_from_a_config_file_each_with_its_own_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "am.token").write_text("am-token")
    (tmp_path / "grafana.hmac").write_text("grafana-secret")
    monkeypatch.setenv("GENERIC_BASIC", "hook:pw")
    config = {
        "integrations": [
            {"name": "team-a-am", "sources": ["alertmanager"], "token_file": str(tmp_path / "am.token")},
            {"name": "team-b-grafana", "sources": ["grafana"], "hmac_secret_file": str(tmp_path / "grafana.hmac")},
            {
                "name": "team-c-generic",
                "sources": ["generic-webhook"],
                "basic_auth_env": "GENERIC_BASIC",
                "settings": {"summary_field": "title", "dedup_key_field": "id"},
            },
        ]
    }
    (tmp_path / "webhook.yaml").write_text(json.dumps(config))
    integrations = load_integrations(tmp_path / "webhook.yaml")
    with serve(tmp_path, WebhookConfig(integrations=integrations)) as running:
        grafana = (PAYLOADS / "grafana/unified-docs-two-alerts-firing.json").read_bytes()
        signature = hmac.new(b"grafana-secret", grafana, hashlib.sha256).hexdigest()
        signed = running.post(
            "/api/v1/webhooks/grafana", grafana, token=None, **{"X-Grafana-Alerting-Signature": signature}
        )
        assert signed.status_code == 202
        assert running.post("/api/v1/webhooks/grafana", grafana, token="am-token").status_code == 401
        assert running.post("/alertmanager", FIRING, token="am-token").status_code == 202
        basic = "Basic " + base64.b64encode(b"hook:pw").decode()
        generic = httpx.post(
            f"{running.url}/api/v1/webhooks/generic-webhook",
            json={"id": "job-7", "title": "backup failed"},
            headers={"Authorization": basic},
        )
        assert generic.status_code == 202
        stored = running.stored()
        assert [event["integration"] for event in stored] == [
            "team-b-grafana",
            "team-b-grafana",
            "team-a-am",
            "team-c-generic",
        ]
        assert stored[-1]["summary"] == "backup failed"
        assert stored[-1]["dedup_key"] == "job-7"


def test_config_errors_name_the_problem_not_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "webhook.yaml"
    path.write_text(json.dumps({"integrations": [{"name": "open", "sources": ["alertmanager"]}]}))
    with pytest.raises(ConfigError, match="no sender credential"):
        load_integrations(path)
    path.write_text(json.dumps({"integrations": [{"name": "x", "sources": ["nagios"], "token_env": "T"}]}))
    with pytest.raises(ConfigError, match="unknown sources"):
        load_integrations(path)
    path.write_text(json.dumps({"integrations": [{"name": "x", "token_env": "SIGNALCRAFT_TEST_UNSET_VARIABLE"}]}))
    with pytest.raises(ConfigError, match="SIGNALCRAFT_TEST_UNSET_VARIABLE is not set"):
        load_integrations(path)


def test_a_rotated_token_file_takes_effect_without_restart(tmp_path: Path) -> None:
    with serve(tmp_path, single(tmp_path)) as running:
        assert running.post("/alertmanager", FIRING).status_code == 202
        replacement = tmp_path / "token.new"
        replacement.write_text("rotated-token")
        replacement.replace(tmp_path / "token")  # how a mounted Secret's files are swapped
        assert running.post("/alertmanager", FIRING).status_code == 401
        assert running.post("/alertmanager", FIRING, token="rotated-token").status_code == 202


@pytest.fixture(scope="module")
def sns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSns]:
    with fake_sns(tmp_path_factory.mktemp("sns")) as running:
        yield running


def test_sns_confirm_notify_and_forged(tmp_path: Path, sns: FakeSns) -> None:
    (tmp_path / "token").write_text("sns-token")
    integration = Integration("aws", ("aws-cloudwatch",), token=secret(tmp_path / "token"))
    settings = SnsSettings(
        cert_host_pattern=r"127\.0\.0\.1",
        ca_bundle=str(sns.ca_file),
        subscribe_url_prefixes=(f"https://127.0.0.1:{sns.port}/",),
    )
    with serve(tmp_path, WebhookConfig(integrations=[integration], sns=settings)) as running:

        def deliver(body: bytes, kind: str) -> httpx.Response:
            return httpx.post(
                f"{running.url}/api/v1/webhooks/aws-cloudwatch",
                params={"token": "sns-token"},
                content=body,
                headers={"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": kind},
            )

        before = len(sns.confirmations)
        confirmed = deliver(sns.message("SubscriptionConfirmation", "subscribe?"), "SubscriptionConfirmation")
        assert confirmed.status_code == 202
        assert confirmed.json() == {"accepted": 0}
        assert len(sns.confirmations) == before + 1
        alarm = json.loads(
            (PAYLOADS / "cloudwatch-sns/alerta-cloudwatch-alarm-notification-real-signature.json").read_text()
        )
        assert (
            deliver(
                sns.message("Notification", alarm["Message"], subject=alarm["Subject"], version="2"), "Notification"
            ).status_code
            == 202
        )
        assert (
            deliver(sns.message("Notification", "disk full on db-1", subject="disk"), "Notification").status_code == 202
        )
        forged = json.loads(sns.message("Notification", "original"))
        forged["Message"] = "tampered"
        problem(deliver(json.dumps(forged).encode(), "Notification"), 401, "unauthenticated")
        assert [event["summary"] for event in running.stored()] == ["bucket bytes size exceeded", "disk"]
        assert len(sns.confirmations) == before + 1


BODIES = [path.read_bytes() for path in sorted(PAYLOADS.rglob("*.json"))]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "token").write_text("am-token")
    integration = Integration(
        "fuzz",
        ("alertmanager", "grafana", "azure-monitor", "gcp-monitoring", "generic-webhook"),
        token=secret(directory / "token"),
    )
    with serve(directory, WebhookConfig(integrations=[integration]), capacity=100_000) as running:
        yield running


@given(
    source=st.sampled_from(SOURCE_NAMES),
    body=st.one_of(
        st.sampled_from(BODIES), st.binary(max_size=300), st.sampled_from(BODIES).map(lambda b: b[: len(b) // 2])
    ),
)
@settings(max_examples=150, suppress_health_check=list(HealthCheck), deadline=None)
def test_any_body_gets_a_2xx_or_a_4xx_with_a_reason_never_a_5xx(fuzzed: Webhook, source: str, body: bytes) -> None:
    response = fuzzed.post(f"/api/v1/webhooks/{source}", body)
    assert response.status_code in (202, 400, 404, 413), response.text
    if response.status_code != 202:
        assert response.json()["detail"]


def test_an_empty_or_missing_credential_file_answers_503_never_open(tmp_path: Path) -> None:
    with serve(tmp_path, single(tmp_path)) as running:
        (tmp_path / "token").write_text("")
        for token in ("am-token", None, "anything"):
            refused = problem(running.post("/alertmanager", FIRING, token=token), 503, "credentials-unavailable")
            assert "unavailable" in refused["detail"]
        assert running.post("/alertmanager", FIRING).headers["retry-after"]
        (tmp_path / "token").unlink()
        problem(running.post("/alertmanager", FIRING), 503, "credentials-unavailable")
        (tmp_path / "token").write_text("am-token")
        assert running.post("/alertmanager", FIRING).status_code == 202
        assert len(running.stored()) == 1, "only the authenticated request was stored"


def test_both_front_doors_share_the_subscription_rule_and_the_sender_cannot_skip_the_signature(
    tmp_path: Path, sns: FakeSns
) -> None:
    """`auto_confirm_subscriptions: false` holds on the in-cluster webhook as on the API (one pipeline), and a
    sender's raw-delivery header or an EventBridge-shaped body does not replace the SNS signature."""
    (tmp_path / "token").write_text("sns-token")
    integration = Integration(
        "aws", ("aws-cloudwatch",), token=secret(tmp_path / "token"), settings={"auto_confirm_subscriptions": False}
    )
    settings = SnsSettings(
        cert_host_pattern=r"127\.0\.0\.1",
        ca_bundle=str(sns.ca_file),
        subscribe_url_prefixes=(f"https://127.0.0.1:{sns.port}/",),
    )
    with serve(tmp_path, WebhookConfig(integrations=[integration], sns=settings)) as running:
        url = f"{running.url}/api/v1/webhooks/aws-cloudwatch"
        before = len(sns.confirmations)
        confirmation = sns.message("SubscriptionConfirmation", "subscribe?")
        assert httpx.post(url, params={"token": "sns-token"}, content=confirmation).status_code == 202
        assert len(sns.confirmations) == before, "not confirmed: the integration said so"
        alarm = (PAYLOADS / "cloudwatch-sns/alerta-cloudwatch-alarm-notification-real-signature.json").read_text()
        raw = httpx.post(
            url,
            params={"token": "sns-token"},
            content=json.loads(alarm)["Message"],
            headers={"x-amz-sns-rawdelivery": "true"},
        )
        problem(raw, 401, "unauthenticated")
        bridged = (
            PAYLOADS / "cloudwatch-eventbridge-lambda/eventbridge-metric-math-alarm-state-change.json"
        ).read_bytes()
        problem(httpx.post(url, params={"token": "sns-token"}, content=bridged), 401, "unauthenticated")
        assert running.stored() == []


def test_an_api_client_that_cannot_be_built_does_not_keep_the_webhook_from_accepting(tmp_path: Path) -> None:
    """The forwarder's client is built at start-up (so the first senders do not wait for it); when that fails, the
    webhook still starts and spools, and the supervisor restarts the forwarder, which meets the same error."""
    attempts: list[int] = []

    def connect() -> SignalCraftClient:
        attempts.append(1)
        raise ValueError("no usable API URL")

    config = single(tmp_path, restart_backoff=(0.05, 0.05))
    with serve(tmp_path, config, connect=connect) as running:
        assert running.post("/alertmanager", FIRING).status_code == 202
        assert len(running.stored()) == 1

        def restarted() -> bool:
            return running.metric("signalcraft_webhook_task_restarts_total", task="forwarder") >= 1

        wait_until(restarted, timeout=30, what="the forwarder restarted")
    assert len(attempts) >= 2, "once at start-up, again inside the supervised forwarder"
