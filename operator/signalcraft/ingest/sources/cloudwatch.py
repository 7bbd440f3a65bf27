"""Amazon CloudWatch alarms through an SNS HTTP(S) subscription, and the EventBridge "Alarm State Change" shape.

SNS messages are verified before anything else: the signing certificate must come over HTTPS from an allow-listed SNS
host (`sns.<region>.amazonaws.com[.cn]` unless configured otherwise, e.g. for tests with their own CA), and the
signature (v1 SHA1, v2 SHA256, RSA PKCS#1 v1.5) must verify over the canonical string AWS documents. Only then is a
SubscriptionConfirmation's SubscribeURL worth following.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from signalcraft.ingest.errors import AuthenticationError, PayloadError
from signalcraft.ingest.model import AlertEvent, AlertStatus
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.common import (
    as_list,
    as_object,
    check_shared_secret,
    clip,
    event,
    json_object,
    parse_time,
    raw_for_audit,
)

AWS_SNS_HOST = r"^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$"
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
STATES = {"ALARM": AlertStatus.FIRING, "OK": AlertStatus.RESOLVED}


@dataclass
class SnsSettings:
    cert_host_pattern: str = AWS_SNS_HOST
    ca_bundle: str | None = None
    """CA file for fetching certificates and confirming subscriptions (None: the system's trust store)."""
    allowed_topic_arns: frozenset[str] = frozenset()


@dataclass
class CertificateStore:
    """Signing certificates by URL, fetched once (a certificate URL names one certificate forever)."""

    settings: SnsSettings
    _cache: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def public_key(self, url: str) -> rsa.RSAPublicKey:
        parts = urlsplit(url)
        if parts.scheme != "https" or not re.match(self.settings.cert_host_pattern, parts.hostname or ""):
            raise AuthenticationError("SigningCertURL is not an HTTPS URL on an SNS host")
        if not parts.path.endswith(".pem"):
            raise AuthenticationError("SigningCertURL does not name a .pem certificate")
        with self._lock:
            if url not in self._cache:
                try:
                    response = httpx.get(url, timeout=5, verify=self.settings.ca_bundle or True)
                    response.raise_for_status()
                    key = x509.load_pem_x509_certificate(response.content).public_key()
                except (httpx.HTTPError, ValueError) as exc:
                    raise AuthenticationError(
                        f"cannot load the SNS signing certificate: {type(exc).__name__}"
                    ) from None
                if not isinstance(key, rsa.RSAPublicKey):
                    raise AuthenticationError("the SNS signing certificate does not hold an RSA key")
                self._cache[url] = key
            return self._cache[url]


def string_to_sign(message: dict[str, Any]) -> bytes:
    keys = NOTIFICATION_KEYS if message.get("Type") == "Notification" else CONFIRMATION_KEYS
    return "".join(f"{key}\n{message[key]}\n" for key in keys if key in message).encode()


class CloudwatchSource:
    name = "aws-cloudwatch"

    def __init__(self, settings: SnsSettings | None = None) -> None:
        self.settings = settings or SnsSettings()
        self.certificates = CertificateStore(self.settings)

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        document = json_object(request)
        if "detail-type" in document:
            check_shared_secret(request, credentials)  # EventBridge API destinations: a header or URL token
            return
        if document.get("Type") not in ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"):
            raise PayloadError("not an SNS message (Type) nor an EventBridge event (detail-type)")
        version = document.get("SignatureVersion")
        algorithm: hashes.HashAlgorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS v1
        if version not in ("1", "2"):
            raise AuthenticationError(f"unsupported SNS SignatureVersion {version!r}")
        try:
            signature = base64.b64decode(str(document.get("Signature", "")), validate=True)
        except ValueError:
            raise AuthenticationError("the SNS Signature is not base64") from None
        key = self.certificates.public_key(str(document.get("SigningCertURL", "")))
        try:
            key.verify(signature, string_to_sign(document), padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            raise AuthenticationError("the SNS signature does not verify") from None
        topic = document.get("TopicArn")
        allowed = self.settings.allowed_topic_arns | frozenset(credentials.options.get("allowed_topic_arns", ()))
        if allowed and topic not in allowed:
            raise AuthenticationError(f"topic {topic!r} is not allowed for this integration")

    def subscribe_url(self, request: InboundRequest) -> str | None:
        """For a (verified) SubscriptionConfirmation: the URL to GET to confirm it."""
        document = json_object(request)
        if document.get("Type") == "SubscriptionConfirmation" and isinstance(document.get("SubscribeURL"), str):
            return str(document["SubscribeURL"])
        return None

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        document = json_object(request)
        if "detail-type" in document:
            return self._eventbridge(document, request, integration)
        kind = document.get("Type")
        if kind in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
            return []
        if kind != "Notification":
            raise PayloadError("not an SNS Notification")
        message = document.get("Message")
        if not isinstance(message, str):
            raise PayloadError("SNS Message must be a string")
        try:
            alarm = json.loads(message)
        except ValueError:
            alarm = None
        if not isinstance(alarm, dict) or "AlarmName" not in alarm:
            # A plain-text notification: one firing alert per topic and subject.
            subject = clip(document.get("Subject") or message, 1024)
            key = f"{document.get('TopicArn', '')}:{subject}"
            return [
                event(
                    source=self.name,
                    integration=integration,
                    group_key=key,
                    dedup_key=key,
                    status=AlertStatus.FIRING,
                    summary=subject,
                    details=clip(message, 16 * 1024),
                    occurred_at=parse_time(document.get("Timestamp")),
                    raw=raw_for_audit(request),
                )
            ]
        state = alarm.get("NewStateValue")
        if state not in STATES:
            return []  # INSUFFICIENT_DATA says nothing about the alarm's condition
        key = str(
            alarm.get("AlarmArn") or f"{alarm.get('AWSAccountId')}:{document.get('TopicArn')}:{alarm['AlarmName']}"
        )
        trigger = as_object(alarm.get("Trigger"))
        labels = {
            "alarm": str(alarm["AlarmName"]),
            "account": str(alarm.get("AWSAccountId", "")),
            "region": str(alarm.get("Region", "")),
            "metric": str(trigger.get("MetricName", "")),
            "namespace": str(trigger.get("Namespace", "")),
        }
        return [
            event(
                source=self.name,
                integration=integration,
                group_key=key,
                dedup_key=key,
                status=STATES[state],
                summary=clip(alarm.get("AlarmDescription") or alarm["AlarmName"], 1024),
                details=clip(alarm.get("NewStateReason"), 16 * 1024),
                labels={name: value for name, value in labels.items() if value},
                occurred_at=parse_time(alarm.get("StateChangeTime") or document.get("Timestamp")),
                raw=raw_for_audit(request),
            )
        ]

    def _eventbridge(self, document: dict[str, Any], request: InboundRequest, integration: str) -> list[AlertEvent]:
        if document.get("detail-type") != "CloudWatch Alarm State Change":
            raise PayloadError(f"unsupported EventBridge detail-type {document.get('detail-type')!r}")
        detail = document.get("detail")
        if not isinstance(detail, dict) or not isinstance(detail.get("state"), dict):
            raise PayloadError("EventBridge alarm event without detail.state")
        state = detail["state"].get("value")
        if state not in STATES:
            return []
        resources = as_list(document.get("resources"))
        key = str(resources[0] if resources else detail.get("alarmName"))
        configuration = as_object(detail.get("configuration"))
        return [
            event(
                source=self.name,
                integration=integration,
                group_key=key,
                dedup_key=key,
                status=STATES[state],
                summary=clip(configuration.get("description") or detail.get("alarmName"), 1024),
                details=clip(detail["state"].get("reason"), 16 * 1024),
                labels={"alarm": str(detail.get("alarmName", "")), "region": str(document.get("region", ""))},
                occurred_at=parse_time(detail["state"].get("timestamp") or document.get("time")),
                raw=raw_for_audit(request),
            )
        ]
