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
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from signalcraft.api.alerts import AlertEvent, AlertStatus
from signalcraft.ingest.errors import AuthenticationError, PayloadError, RetryLaterError
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
MAX_CACHED_CERTIFICATES = 64
STATES = {"ALARM": AlertStatus.FIRING, "OK": AlertStatus.RESOLVED}


@dataclass
class SnsSettings:
    cert_host_pattern: str = AWS_SNS_HOST
    """Hosts SigningCertURL (and, unless `subscribe_url_prefixes` is set, SubscribeURL) may name; HTTPS only."""
    ca_bundle: str | None = None
    """CA file for fetching certificates and confirming subscriptions (None: the system's trust store)."""
    allowed_topic_arns: frozenset[str] = frozenset()
    subscribe_url_prefixes: tuple[str, ...] = ()
    """Base URLs a SubscribeURL must start with before it is fetched; empty: HTTPS on a `cert_host_pattern` host."""
    signing_ca_file: str | None = None
    """When set, the signing certificate must also be issued by one of these CAs (AWS's advice to check the chain)."""


def _tls(settings: SnsSettings) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=settings.ca_bundle) if settings.ca_bundle else True


@dataclass
class CertificateStore:
    """Signing certificates by URL, fetched once (a certificate URL names one certificate forever)."""

    settings: SnsSettings
    _cache: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def shared(cls, settings: SnsSettings) -> CertificateStore:
        """The process's store for these settings: a certificate is fetched once per process, not per request."""
        key = (settings.cert_host_pattern, settings.ca_bundle, settings.signing_ca_file)
        with _STORES_LOCK:
            if key not in _STORES:
                _STORES[key] = cls(settings)
            return _STORES[key]

    def public_key(self, url: str) -> rsa.RSAPublicKey:
        parts = urlsplit(url)
        if parts.scheme != "https" or not re.fullmatch(self.settings.cert_host_pattern, parts.hostname or ""):
            raise AuthenticationError("SigningCertURL is not an HTTPS URL on an SNS host")
        if not parts.path.endswith(".pem"):
            raise AuthenticationError("SigningCertURL does not name a .pem certificate")
        with self._lock:
            if url not in self._cache:
                try:
                    response = httpx.get(url, timeout=5, verify=_tls(self.settings))
                    response.raise_for_status()
                    certificate = x509.load_pem_x509_certificate(response.content)
                except (httpx.HTTPError, ValueError) as exc:
                    # Not the sender's fault, and SNS retries only 5xx: a 401 here would lose the alarm.
                    raise RetryLaterError(f"cannot load the SNS signing certificate: {type(exc).__name__}") from None
                self._check_issuer(certificate)
                key = certificate.public_key()
                if not isinstance(key, rsa.RSAPublicKey):
                    raise AuthenticationError("the SNS signing certificate does not hold an RSA key")
                if len(self._cache) >= MAX_CACHED_CERTIFICATES:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[url] = key
            return self._cache[url]

    def _check_issuer(self, certificate: x509.Certificate) -> None:
        if self.settings.signing_ca_file is None:
            return
        now = datetime.now(UTC)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise AuthenticationError("the SNS signing certificate is not valid now")
        with open(self.settings.signing_ca_file, "rb") as bundle:
            authorities = x509.load_pem_x509_certificates(bundle.read())
        for authority in authorities:
            try:
                certificate.verify_directly_issued_by(authority)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return
        raise AuthenticationError("the SNS signing certificate is not issued by a trusted authority")


_STORES: dict[tuple[str, str | None, str | None], CertificateStore] = {}
_STORES_LOCK = threading.Lock()


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The canonical form SNS signs: `key\\nvalue\\n` for each signed key present, in this fixed order."""
    keys = NOTIFICATION_KEYS if message.get("Type") == "Notification" else CONFIRMATION_KEYS
    return "".join(f"{key}\n{message[key]}\n" for key in keys if key in message).encode()


def _arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" else ""


RAW_DELIVERY_SETTING = "raw_message_delivery"
EVENTBRIDGE_SETTING = "eventbridge"


class CloudwatchSource:
    """Integration settings: `raw_message_delivery: true` accepts unsigned raw SNS deliveries and `eventbridge: true`
    EventBridge events (both proven by the integration's token alone); without them only signed SNS envelopes are
    accepted, whatever headers or keys a sender adds. `auto_confirm_subscriptions` (default true)."""

    name = "aws-cloudwatch"
    authenticate_blocks: ClassVar[bool] = True

    def __init__(self, settings: SnsSettings | None = None, options: Mapping[str, Any] | None = None) -> None:
        self.settings = settings or SnsSettings()
        self.options = dict(options or {})
        self.certificates = CertificateStore.shared(self.settings)

    def _raw_delivery(self, request: InboundRequest) -> bool:
        """Raw message delivery (configured for this integration): the bare Message, no envelope, no signature."""
        return bool(self.options.get(RAW_DELIVERY_SETTING)) and (
            request.headers.get("x-amz-sns-rawdelivery", "").lower() == "true"
        )

    def _eventbridge(self, document: dict[str, Any]) -> bool:
        return bool(self.options.get(EVENTBRIDGE_SETTING)) and "detail-type" in document

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        """SNS envelopes: the signature, always, and the integration's URL token or Basic auth when it has one.

        Raw deliveries and EventBridge API destinations carry no signature: they are accepted only where the
        integration is configured for them, and then the integration's token is the proof.
        """
        if self._raw_delivery(request):
            check_shared_secret(request, credentials)
            return
        document = json_object(request)
        if self._eventbridge(document):
            check_shared_secret(request, credentials)
            return
        kind = document.get("Type")
        if kind not in ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"):
            raise AuthenticationError("not a signed SNS message (raw delivery and EventBridge are not enabled here)")
        announced = request.headers.get("x-amz-sns-message-type")
        if announced is not None and announced != kind:
            raise PayloadError(f"x-amz-sns-message-type {announced!r} does not match the body's Type {kind!r}")
        version = document.get("SignatureVersion")
        if version not in ("1", "2"):
            raise AuthenticationError(f"unsupported SNS SignatureVersion {version!r}")
        algorithm: hashes.HashAlgorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS v1
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
        if credentials.token is not None or credentials.basic_password is not None:
            check_shared_secret(request, credentials)

    def subscribe_url(self, request: InboundRequest) -> str | None:
        """For a (verified) SubscriptionConfirmation: the URL to GET to confirm it."""
        if self._raw_delivery(request):
            return None
        document = json_object(request)
        if document.get("Type") == "SubscriptionConfirmation" and isinstance(document.get("SubscribeURL"), str):
            return str(document["SubscribeURL"])
        return None

    def may_fetch(self, url: str) -> bool:
        """Whether `url` is on the configured allow-list of SNS endpoints (see `SnsSettings.subscribe_url_prefixes`)."""
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.username is not None or parts.password is not None:
            return False
        if not self.settings.subscribe_url_prefixes:
            return re.fullmatch(self.settings.cert_host_pattern, parts.hostname or "") is not None
        for prefix in self.settings.subscribe_url_prefixes:
            base = urlsplit(prefix)
            if (parts.scheme, parts.netloc) == (base.scheme, base.netloc) and parts.path.startswith(base.path):
                return True
        return False

    async def confirm_subscription(self, request: InboundRequest, credentials: IntegrationCredentials) -> str | None:
        """GET the SubscribeURL of a SubscriptionConfirmation that `authenticate` has verified (unless the
        integration turned `auto_confirm_subscriptions` off).

        Returns the SubscriptionArn SNS answers with ("" if it did not say), or None when the request is not a
        confirmation. A URL outside the allow-list is refused (401) and never fetched; a failed GET answers 503 so
        SNS redelivers the confirmation. UnsubscribeConfirmation is never followed.
        """
        url = self.subscribe_url(request)
        if url is None or not credentials.options.get("auto_confirm_subscriptions", True):
            return None
        if not self.may_fetch(url):
            raise AuthenticationError("SubscribeURL is not on an allowed SNS endpoint")
        try:
            async with httpx.AsyncClient(timeout=10, verify=_tls(self.settings), follow_redirects=False) as client:
                response = await client.get(url)
                response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RetryLaterError(f"could not confirm the SNS subscription: {type(exc).__name__}") from None
        found = re.search(r"<SubscriptionArn>([^<]{1,1024})</SubscriptionArn>", response.text)
        return found.group(1) if found else ""

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        if self._raw_delivery(request):
            try:
                text = request.body.decode()
            except UnicodeDecodeError:
                raise PayloadError("a raw SNS message must be UTF-8 text") from None
            topic_header = request.headers.get("x-amz-sns-topic-arn", "")
            return self._message(text, None, topic_header, None, request=request, integration=integration)
        document = json_object(request)
        if self._eventbridge(document):
            return self._eventbridge_alarm(document, request, integration)
        kind = document.get("Type")
        if kind in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
            return []
        if kind != "Notification":
            raise PayloadError("not an SNS Notification")
        message = document.get("Message")
        if not isinstance(message, str):
            raise PayloadError("SNS Message must be a string")
        subject = document.get("Subject")
        topic = document.get("TopicArn")
        return self._message(
            message,
            subject if isinstance(subject, str) else None,
            topic if isinstance(topic, str) else "",
            document.get("Timestamp"),
            request=request,
            integration=integration,
        )

    def _message(
        self,
        message: str,
        subject: str | None,
        topic: str,
        timestamp: Any,
        *,
        request: InboundRequest,
        integration: str,
    ) -> list[AlertEvent]:
        """A CloudWatch alarm (JSON in the Message) or any other publisher's plain text."""
        try:
            alarm = json.loads(message)
        except ValueError:
            alarm = None
        if not isinstance(alarm, dict) or "AlarmName" not in alarm:
            # A plain-text notification: one firing alert per topic and subject.
            summary = clip(subject or message, 1024)
            key = f"{topic}:{summary}"
            return [
                event(
                    source=self.name,
                    integration=integration,
                    group_key=key,
                    dedup_key=key,
                    status=AlertStatus.FIRING,
                    summary=summary,
                    details=clip(message, 16 * 1024),
                    labels={"topic": topic} if topic else {},
                    occurred_at=parse_time(timestamp),
                    raw=raw_for_audit(request),
                )
            ]
        state = alarm.get("NewStateValue")
        if state not in STATES:
            return []  # INSUFFICIENT_DATA says nothing about the alarm's condition
        arn = alarm.get("AlarmArn") if isinstance(alarm.get("AlarmArn"), str) else ""
        # `Region` is a display name ("EU (Ireland)"); the code is an ARN's fourth field (alarm actions publish to
        # a topic in the alarm's own region).
        region_code = _arn_region(arn or topic)
        key = arn or f"{alarm.get('AWSAccountId')}:{region_code or alarm.get('Region')}:{alarm['AlarmName']}"
        trigger = as_object(alarm.get("Trigger"))
        labels = {
            "alarm": str(alarm["AlarmName"]),
            "account": str(alarm.get("AWSAccountId", "")),
            "region": str(alarm.get("Region", "")),
            "region_code": region_code,
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
                labels={name: value for name, value in labels.items() if value and value != "None"},
                occurred_at=parse_time(alarm.get("StateChangeTime") or timestamp),
                raw=raw_for_audit(request),
            )
        ]

    def _eventbridge_alarm(
        self, document: dict[str, Any], request: InboundRequest, integration: str
    ) -> list[AlertEvent]:
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
