"""The API server's monitoring webhooks over real HTTP, bound to Integrations, fed with the authentic payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.contract.test_api_resources import problem, unique
from tests.support.api_server import ApiServer, running_api_server
from tests.support.sns import fake_sns

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


def integration(
    admin: httpx.Client, kind: str, credentials: dict[str, str] | None = None, **settings: Any
) -> tuple[str, str]:
    name = unique(kind)
    spec: dict[str, Any] = {"type": kind}
    if settings:
        spec[kind.replace("-", "_")] = settings
    body: dict[str, Any] = {"spec": spec}
    if credentials:
        body["credentials"] = credentials
    admin.put(f"/v1/integrations/{name}", json=body).raise_for_status()
    return name, admin.get(f"/v1/integrations/{name}/connection").json()["webhook_url"]


def groups(admin: httpx.Client, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = admin.get("/v1/alert-groups", params={"integration": name}).json()["items"]
    return found


def test_alertmanager_group_fires_and_resolves(admin: httpx.Client) -> None:
    name, url = integration(admin, "alertmanager")
    firing = httpx.post(
        url, content=(PAYLOADS / "alertmanager/alertmanager-bot-firing-v4-nonzero-endsat.json").read_bytes()
    )
    assert firing.status_code == 202
    assert firing.json()["accepted"] == 1
    (group,) = groups(admin, name)
    assert group["status"] == "firing"
    assert group["group_key"] == '{}:{alertname="Fire"}'
    resolved = httpx.post(url, content=(PAYLOADS / "alertmanager/alertmanager-bot-resolved-v4.json").read_bytes())
    assert resolved.status_code == 202
    assert admin.get(f"/v1/alert-groups/{group['id']}").json()["status"] == "resolved"
    status = admin.get(f"/v1/integrations/{name}").json()["status"]
    assert status["last_event_received_at"]


def test_text_no_database_stores_is_repaired_not_refused(admin: httpx.Client) -> None:
    """A NUL or a lone surrogate in a monitoring payload becomes U+FFFD on every engine; the alert is kept."""
    name, url = integration(admin, "alertmanager")
    body = (
        b'{"version":"4","groupKey":"nul\\u0000key","status":"firing","alerts":[{"status":"firing",'
        b'"labels":{"alertname":"Nul\\u0000","odd":"\\ud800"},"annotations":{"summary":"a\\u0000b"}}]}'
    )
    answered = httpx.post(url, content=body, headers={"content-type": "application/json"})
    assert answered.status_code == 202, answered.text
    (group,) = groups(admin, name)
    assert group["group_key"] == "nul\ufffdkey"
    (alert,) = admin.get(f"/v1/alert-groups/{group['id']}/alerts").json()
    assert alert["labels"] == {"alertname": "Nul\ufffd", "odd": "\ufffd"}
    assert alert["summary"] == "a\ufffdb"


def test_token_in_query_or_bearer_and_wrong_token(admin: httpx.Client, api: ApiServer) -> None:
    name, url = integration(admin, "gcp-monitoring")
    token = url.rsplit("/", 1)[1]
    body = (PAYLOADS / "gcp-monitoring/canary-checker-open-pubsub-v1.2-ended-at-null.json").read_bytes()
    assert (
        httpx.post(f"{api.url}/api/webhooks/gcp-monitoring", params={"token": token}, content=body).status_code == 202
    )
    bearer = httpx.post(
        f"{api.url}/api/v1/webhooks/gcp-monitoring", headers={"Authorization": f"Bearer {token}"}, content=body
    )
    assert bearer.status_code == 202
    assert len(groups(admin, name)) == 1, "the same incident twice is one group"
    problem(httpx.post(url[: -len(token)] + "x" * len(token), content=body), 401, "unauthenticated")
    problem(httpx.post(f"{api.url}/api/v1/webhooks/gcp-monitoring", content=body), 401, "unauthenticated")
    problem(httpx.post(f"{api.url}/api/v1/webhooks/nagios/{token}", content=body), 404, "unknown-source")


def test_bad_payload_is_refused_with_its_reason_and_nothing_is_stored(admin: httpx.Client) -> None:
    name, url = integration(admin, "alertmanager")
    refused = problem(httpx.post(url, content=b'{"version": "4", "groupKey": "g"}'), 400, "invalid-payload")
    assert "alerts must be a list" in refused["detail"]
    problem(httpx.post(url, content=b"not json"), 400, "invalid-payload")
    assert groups(admin, name) == []
    problem(httpx.post(url, content=b"{" + b" " * (1024 * 1024 + 10) + b"}"), 413, "payload-too-large")


def test_every_authentic_payload_is_accepted_by_its_source(admin: httpx.Client) -> None:
    folders = {
        "alertmanager": "alertmanager",
        "grafana": "grafana",
        "azure-monitor": "azure-monitor",
        "gcp-monitoring": "gcp-monitoring",
    }
    for folder, kind in folders.items():
        name, url = integration(admin, kind)
        for payload in sorted((PAYLOADS / folder).glob("*.json")):
            response = httpx.post(url, content=payload.read_bytes())
            assert response.status_code == 202, f"{payload.name}: {response.text}"
        assert groups(admin, name), f"no alert group from {folder}"


def test_grafana_hmac_is_verified_when_configured(admin: httpx.Client) -> None:
    name, url = integration(admin, "grafana", credentials={"hmac_secret": "shared"})
    body = (PAYLOADS / "grafana/unified-docs-two-alerts-firing.json").read_bytes()
    problem(httpx.post(url, content=body), 401, "unauthenticated")
    signature = hmac.new(b"shared", body, hashlib.sha256).hexdigest()
    assert httpx.post(url, content=body, headers={"X-Grafana-Alerting-Signature": signature}).status_code == 202
    assert groups(admin, name)[0]["alert_count"] == 2


@pytest.fixture(scope="module")
def sns_api(
    tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], str | None]
) -> Iterator[tuple[ApiServer, Any]]:
    directory = tmp_path_factory.mktemp("sns")
    with fake_sns(directory) as sns:
        args = ["--sns-cert-host-pattern", r"^127\.0\.0\.1$", "--sns-ca-bundle", str(sns.ca_file)]
        with running_api_server(directory / "api", extra_args=args, database_url=new_database()) as server:
            yield server, sns


def test_sns_confirm_notify_and_forged(sns_api: tuple[ApiServer, Any]) -> None:
    api, sns = sns_api
    with api.client() as admin:
        name, url = integration(admin, "aws-cloudwatch")
        confirming = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "SubscriptionConfirmation"}
        headers = {**confirming, "x-amz-sns-message-type": "Notification"}
        confirmation = sns.message("SubscriptionConfirmation", "You have chosen to subscribe")
        assert httpx.post(url, content=confirmation, headers=confirming).status_code == 202
        assert len(sns.confirmations) == 1, "a verified SubscriptionConfirmation is confirmed once"

        alarm = json.loads(
            (PAYLOADS / "cloudwatch-sns/alerta-cloudwatch-alarm-notification-real-signature.json").read_text()
        )
        for version in ("1", "2"):
            notified = sns.message("Notification", alarm["Message"], subject=alarm["Subject"], version=version)
            assert httpx.post(url, content=notified, headers=headers).status_code == 202
        text = sns.message("Notification", "disk almost full on db-1", subject="disk")
        assert httpx.post(url, content=text, headers=headers).status_code == 202
        summaries = sorted(group["summary"] for group in groups(admin, name))
        assert summaries == ["bucket bytes size exceeded", "disk"]

        forged = json.loads(sns.message("Notification", "forged", subject="x"))
        forged["Message"] = "tampered"
        problem(httpx.post(url, content=json.dumps(forged), headers=headers), 401, "unauthenticated")
        elsewhere = json.loads(sns.message("SubscriptionConfirmation", "x"))
        elsewhere["SigningCertURL"] = "https://evil.example.com/cert.pem"
        problem(httpx.post(url, content=json.dumps(elsewhere), headers=confirming), 401, "unauthenticated")
        # Correctly signed, but its SubscribeURL is not an SNS endpoint on the allow-list: refused, never fetched.
        detour = f"https://localhost:{sns.port}/?Action=ConfirmSubscription&Token=tok"
        off_list = sns.message("SubscriptionConfirmation", "x", SubscribeURL=detour)
        problem(httpx.post(url, content=off_list, headers=confirming), 401, "unauthenticated")
        assert len(sns.confirmations) == 1, "nothing unverified or off the allow-list was ever confirmed"


def test_unsigned_sns_shapes_and_confirmation_follow_the_integration(sns_api: tuple[ApiServer, Any]) -> None:
    """Raw delivery and EventBridge only where the integration enables them (a sender's header or body key alone
    never skips the signature); `auto_confirm_subscriptions: false` is honoured, as on the in-cluster webhook."""
    api, sns = sns_api
    alarm = json.loads(
        (PAYLOADS / "cloudwatch-sns/alerta-cloudwatch-alarm-notification-real-signature.json").read_text()
    )
    bridged = (PAYLOADS / "cloudwatch-eventbridge-lambda/eventbridge-metric-math-alarm-state-change.json").read_bytes()
    raw = {"x-amz-sns-rawdelivery": "true", "x-amz-sns-topic-arn": alarm["TopicArn"]}
    with api.client() as admin:
        _, plain = integration(admin, "aws-cloudwatch")
        problem(httpx.post(plain, content=alarm["Message"], headers=raw), 401, "unauthenticated")
        problem(httpx.post(plain, content=bridged), 401, "unauthenticated")
        name, url = integration(
            admin, "aws-cloudwatch", raw_message_delivery=True, eventbridge=True, auto_confirm_subscriptions=False
        )
        assert httpx.post(url, content=alarm["Message"], headers=raw).status_code == 202
        assert httpx.post(url, content=bridged).status_code == 202
        assert len(groups(admin, name)) == 2
        before = len(sns.confirmations)
        confirming = {"x-amz-sns-message-type": "SubscriptionConfirmation"}
        confirmation = sns.message("SubscriptionConfirmation", "subscribe?")
        assert httpx.post(url, content=confirmation, headers=confirming).status_code == 202
        assert len(sns.confirmations) == before, "not confirmed: the integration said so"
