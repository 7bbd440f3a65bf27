"""CloudWatch alarms over SNS (signatures v1/v2, confirmation, raw delivery) and EventBridge.

Signing certificates come from a local HTTPS stand-in for SNS with its own CA (tests/support/sns.py), configured
through SnsSettings exactly as a deployment would point at AWS: nothing is patched.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from tests.support.payloads import PAYLOADS, json_request, parse_payload, payload_request
from tests.support.processes import free_port
from tests.support.sns import TOPIC, FakeSns, fake_sns

from signalcraft.api.alerts import AlertStatus
from signalcraft.ingest.errors import AuthenticationError, CredentialsUnavailableError, PayloadError, RetryLaterError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.cloudwatch import CloudwatchSource, SnsSettings, string_to_sign
from signalcraft.ingest.sources.registry import get_strategy

NO_CREDENTIALS = IntegrationCredentials()
ALARM = json.loads((PAYLOADS / "cloudwatch-sns/alerta-cloudwatch-alarm-notification-real-signature.json").read_text())


@pytest.fixture(scope="module")
def sns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSns]:
    with fake_sns(tmp_path_factory.mktemp("sns")) as running:
        yield running


def settings_for(sns: FakeSns, **overrides: Any) -> SnsSettings:
    values: dict[str, Any] = {
        "cert_host_pattern": r"127\.0\.0\.1",
        "ca_bundle": str(sns.ca_file),
        "subscribe_url_prefixes": (f"https://127.0.0.1:{sns.port}/",),
        **overrides,
    }
    return SnsSettings(**values)


def source_for(sns: FakeSns, **overrides: Any) -> CloudwatchSource:
    strategy = get_strategy("aws-cloudwatch", sns=settings_for(sns, **overrides))
    assert isinstance(strategy, CloudwatchSource)
    return strategy


def sns_request(body: bytes, kind: str | None = None, **query: str) -> InboundRequest:
    headers = {"content-type": "text/plain; charset=UTF-8"}
    if kind is not None:
        headers["x-amz-sns-message-type"] = kind
    return InboundRequest(headers, body, query)


def test_string_to_sign_follows_the_documented_key_order() -> None:
    notification = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:t",
        "Subject": "ALARM: x",
        "Message": "line 1\nline 2",
        "Timestamp": "2026-11-23T10:00:00.000Z",
        "SignatureVersion": "1",
        "UnsubscribeURL": "https://sns/unsub",
    }
    assert string_to_sign(notification) == (
        b"Message\nline 1\nline 2\nMessageId\nm-1\nSubject\nALARM: x\n"
        b"Timestamp\n2026-11-23T10:00:00.000Z\nTopicArn\narn:t\nType\nNotification\n"
    )
    confirmation = json.loads((PAYLOADS / "cloudwatch-sns/aws-docs-subscription-confirmation.json").read_text())
    assert string_to_sign(confirmation) == (
        b"Message\nYou have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\n"
        b"To confirm the subscription, visit the SubscribeURL included in this message.\n"
        b"MessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\n"
        b"SubscribeURL\nhttps://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription"
        b"&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37...\n"
        b"Timestamp\n2012-04-26T20:45:04.751Z\nToken\n2336412f37...\n"
        b"TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nSubscriptionConfirmation\n"
    ), "SignatureVersion, Signature and SigningCertURL are not signed"


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_notification_verifies_and_parses(sns: FakeSns, version: str) -> None:
    strategy = source_for(sns)
    body = sns.message("Notification", ALARM["Message"], subject=ALARM["Subject"], version=version)
    request = sns_request(body, "Notification")
    strategy.authenticate(request, NO_CREDENTIALS)
    (alarm,) = strategy.parse(request, "aws")
    assert alarm.status is AlertStatus.FIRING
    assert alarm.summary == "bucket bytes size exceeded"
    assert alarm.labels["region_code"] == "eu-west-1", "from the TopicArn, since the alarm has no AlarmArn"
    assert alarm.dedup_key == "1234567890:eu-west-1:bucketbytesAlarm", "account, region and name identify it"


def test_tampered_unsigned_and_unsupported_messages_are_refused(sns: FakeSns) -> None:
    strategy = source_for(sns)
    forged = json.loads(sns.message("Notification", "original", subject="x"))
    forged["Message"] = "tampered"
    with pytest.raises(AuthenticationError, match="does not verify"):
        strategy.authenticate(sns_request(json.dumps(forged).encode()), NO_CREDENTIALS)
    resigned_v1_as_v2 = json.loads(sns.message("Notification", "m", version="1"))
    resigned_v1_as_v2["SignatureVersion"] = "2"
    with pytest.raises(AuthenticationError, match="does not verify"):
        strategy.authenticate(sns_request(json.dumps(resigned_v1_as_v2).encode()), NO_CREDENTIALS)
    for field, value, reason in (
        ("SignatureVersion", "3", "SignatureVersion"),
        ("Signature", "***", "base64"),
    ):
        broken = json.loads(sns.message("Notification", "m"))
        broken[field] = value
        with pytest.raises(AuthenticationError, match=reason):
            strategy.authenticate(sns_request(json.dumps(broken).encode()), NO_CREDENTIALS)
    with pytest.raises(PayloadError, match="does not match"):
        strategy.authenticate(sns_request(sns.message("Notification", "m"), "SubscriptionConfirmation"), NO_CREDENTIALS)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.example/SimpleNotificationService-x.pem",
        "https://s3.amazonaws.com/attacker-bucket/SimpleNotificationService-x.pem",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.txt",
    ],
)
def test_certificate_urls_off_the_aws_allow_list_are_refused_before_any_fetch(url: str) -> None:
    document = {**ALARM, "SigningCertURL": url}
    with pytest.raises(AuthenticationError, match="SigningCertURL"):
        get_strategy("aws-cloudwatch").authenticate(json_request(document), NO_CREDENTIALS)


def test_the_real_deliverys_certificate_url_is_on_the_default_allow_list() -> None:
    strategy = get_strategy("aws-cloudwatch")
    assert isinstance(strategy, CloudwatchSource)
    assert strategy.may_fetch(ALARM["SigningCertURL"])
    assert not strategy.may_fetch("https://user:pw@sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription")


def test_signing_certificate_must_come_from_a_trusted_authority_when_configured(sns: FakeSns, tmp_path: Path) -> None:
    body = sns.message("Notification", "m", version="2")
    source_for(sns, signing_ca_file=str(sns.ca_file)).authenticate(sns_request(body), NO_CREDENTIALS)
    stranger = tmp_path / "other-ca.pem"
    stranger.write_bytes(sns.tls.public_bytes(serialization.Encoding.PEM))  # a certificate, but not the issuer
    assert x509.load_pem_x509_certificate(stranger.read_bytes()).subject != sns.ca.subject
    with pytest.raises(AuthenticationError, match="trusted authority"):
        source_for(sns, signing_ca_file=str(stranger)).authenticate(sns_request(body), NO_CREDENTIALS)


def test_topic_allow_list_and_url_token(sns: FakeSns) -> None:
    body = sns.message("Notification", "m")
    with pytest.raises(AuthenticationError, match="not allowed"):
        source_for(sns, allowed_topic_arns=frozenset({"arn:aws:sns:eu-west-1:1:other"})).authenticate(
            sns_request(body), NO_CREDENTIALS
        )
    source_for(sns, allowed_topic_arns=frozenset({TOPIC})).authenticate(sns_request(body), NO_CREDENTIALS)
    token = IntegrationCredentials(token="sns-url-token")
    with pytest.raises(AuthenticationError):
        source_for(sns).authenticate(sns_request(body), token)
    source_for(sns).authenticate(sns_request(body, token="sns-url-token"), token)


async def test_verified_subscription_is_confirmed_once_by_its_subscribe_url(sns: FakeSns) -> None:
    strategy = source_for(sns)
    request = sns_request(sns.message("SubscriptionConfirmation", "You have chosen to subscribe"))
    strategy.authenticate(request, NO_CREDENTIALS)
    assert strategy.parse(request) == [], "a confirmation is no alert"
    before = len(sns.confirmations)
    assert await strategy.confirm_subscription(request, NO_CREDENTIALS) == "arn"
    assert len(sns.confirmations) == before + 1
    assert "Action=ConfirmSubscription" in sns.confirmations[-1]
    unsubscribe = sns_request(sns.message("UnsubscribeConfirmation", "gone", Token="t", SubscribeURL=sns.subscribe_url))
    strategy.authenticate(unsubscribe, NO_CREDENTIALS)
    assert await strategy.confirm_subscription(unsubscribe, NO_CREDENTIALS) is None, "an unsubscribe is never followed"
    assert len(sns.confirmations) == before + 1


async def test_subscribe_urls_off_the_allow_list_are_never_fetched(sns: FakeSns) -> None:
    strategy = source_for(sns, subscribe_url_prefixes=("https://127.0.0.1:1/only-here/",))
    request = sns_request(sns.message("SubscriptionConfirmation", "x"))
    strategy.authenticate(request, NO_CREDENTIALS)
    before = len(sns.confirmations)
    with pytest.raises(AuthenticationError, match="SubscribeURL"):
        await strategy.confirm_subscription(request, NO_CREDENTIALS)
    assert len(sns.confirmations) == before


async def test_failed_confirmation_asks_sns_to_retry(sns: FakeSns) -> None:
    closed = free_port()
    elsewhere = f"https://127.0.0.1:{closed}/?Action=ConfirmSubscription&Token=tok"
    strategy = source_for(sns, subscribe_url_prefixes=(f"https://127.0.0.1:{closed}/",))
    request = sns_request(sns.message("SubscriptionConfirmation", "x", SubscribeURL=elsewhere))
    strategy.authenticate(request, NO_CREDENTIALS)
    with pytest.raises(RetryLaterError) as failed:
        await strategy.confirm_subscription(request, NO_CREDENTIALS)
    assert failed.value.status_code == 503


def test_alarm_states_plain_text_and_raw_delivery() -> None:
    (alarm,) = parse_payload(
        "aws-cloudwatch", "cloudwatch-sns/alerta-cloudwatch-alarm-notification-real-signature.json"
    )
    assert alarm.status is AlertStatus.FIRING
    assert alarm.labels["region"] == "EU (Ireland)"
    assert alarm.occurred_at.isoformat() == "2019-02-15T23:53:45.093000+00:00", "the +0000 offset is understood"
    message = json.loads(ALARM["Message"])
    strategy = get_strategy("aws-cloudwatch")
    for state, expected in (("OK", [AlertStatus.RESOLVED]), ("INSUFFICIENT_DATA", [])):
        body = {**ALARM, "Message": json.dumps({**message, "NewStateValue": state})}
        assert [event.status for event in strategy.parse(json_request(body))] == expected
    (text,) = strategy.parse(json_request({**ALARM, "Subject": "disk", "Message": "disk full on db-1"}))
    assert (text.summary, text.details, text.status) == ("disk", "disk full on db-1", AlertStatus.FIRING)
    raw = InboundRequest(
        {"x-amz-sns-rawdelivery": "true", "x-amz-sns-topic-arn": ALARM["TopicArn"]},
        ALARM["Message"].encode(),
        {"token": "t"},
    )
    token = IntegrationCredentials(token="t")
    with pytest.raises(AuthenticationError, match="not a signed SNS message"):
        strategy.authenticate(raw, token)  # the sender's header alone never skips the signature
    configured = get_strategy("aws-cloudwatch", {"raw_message_delivery": True})
    configured.authenticate(raw, token)
    with pytest.raises(AuthenticationError):
        configured.authenticate(InboundRequest(raw.headers, raw.body), token)
    with pytest.raises(CredentialsUnavailableError):
        configured.authenticate(raw, NO_CREDENTIALS)
    (bare,) = configured.parse(raw)
    assert bare.dedup_key == alarm.dedup_key, "the same alarm whichever way SNS delivers it"


def test_confirmations_eventbridge_and_lambda_shape() -> None:
    assert parse_payload("aws-cloudwatch", "cloudwatch-sns/aws-docs-subscription-confirmation.json") == []
    assert parse_payload("aws-cloudwatch", "cloudwatch-sns/aws-docs-unsubscribe-confirmation.json") == []
    eventbridge = payload_request("cloudwatch-eventbridge-lambda/eventbridge-metric-math-alarm-state-change.json")
    with pytest.raises(AuthenticationError, match="not a signed SNS message"):
        get_strategy("aws-cloudwatch").authenticate(eventbridge, IntegrationCredentials(token="t"))
    configured = get_strategy("aws-cloudwatch", {"eventbridge": True})
    with pytest.raises(AuthenticationError):
        configured.authenticate(eventbridge, IntegrationCredentials(token="t"))
    configured.authenticate(
        payload_request(
            "cloudwatch-eventbridge-lambda/eventbridge-metric-math-alarm-state-change.json", query={"token": "t"}
        ),
        IntegrationCredentials(token="t"),
    )
    (bridged,) = configured.parse(eventbridge)
    assert bridged.status is AlertStatus.FIRING
    assert bridged.dedup_key == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:TotalNetworkTrafficTooHigh"
    assert bridged.summary == "Goes into alarm if total network traffic exceeds 10Kb"
    lambda_form = payload_request("cloudwatch-eventbridge-lambda/lambda-sns-record-cloudwatch-single-metric-alarm.json")
    with pytest.raises(AuthenticationError, match="not a signed SNS message"):
        get_strategy("aws-cloudwatch").authenticate(lambda_form, NO_CREDENTIALS)
    with pytest.raises(PayloadError):
        get_strategy("aws-cloudwatch").parse(lambda_form)


def test_the_certificate_is_fetched_once_per_process_and_a_failed_fetch_asks_for_a_retry(sns: FakeSns) -> None:
    fresh = f"https://127.0.0.1:{sns.port}/SimpleNotificationService-{uuid.uuid4()}.pem"
    body = sns.message("Notification", "m", version="2", SigningCertURL=fresh)
    before = sns.certificate_fetches
    for _ in range(3):  # a new strategy per request, as the API's routes build them
        source_for(sns).authenticate(sns_request(body), NO_CREDENTIALS)
    assert sns.certificate_fetches - before == 1
    unreachable = f"https://127.0.0.1:{free_port()}/SimpleNotificationService-gone.pem"
    stranded = sns.message("Notification", "m", version="2", SigningCertURL=unreachable)
    with pytest.raises(RetryLaterError) as failed:
        source_for(sns).authenticate(sns_request(stranded), NO_CREDENTIALS)
    assert failed.value.status_code == 503, "SNS retries only 5xx: a 401 would lose the alarm"
