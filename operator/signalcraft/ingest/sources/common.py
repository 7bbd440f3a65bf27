"""Helpers every source strategy shares: JSON bodies, timestamps, severities, fingerprints and credential checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from signalcraft.api.alerts import AlertEvent
from signalcraft.api.limits import MAX_RAW_BYTES
from signalcraft.api.specs import Severity
from signalcraft.ingest.errors import AuthenticationError, CredentialsUnavailableError, PayloadError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials

SEVERITY_WORDS: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "p1": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "high": Severity.ERROR,
    "error": Severity.ERROR,
    "err": Severity.ERROR,
    "major": Severity.ERROR,
    "p2": Severity.ERROR,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "medium": Severity.WARNING,
    "minor": Severity.WARNING,
    "p3": Severity.WARNING,
    "info": Severity.INFO,
    "informational": Severity.INFO,
    "low": Severity.INFO,
    "none": Severity.INFO,
    "p4": Severity.INFO,
}


def json_object(request: InboundRequest) -> dict[str, Any]:
    """The body as a JSON object, whatever the Content-Type (SNS sends JSON as text/plain); Unicode repaired."""
    try:
        document = request.document
    except ValueError as exc:
        raise PayloadError(f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PayloadError("the body must be a JSON object")
    return document


def field(document: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    """A required field of the right JSON type, or a PayloadError naming it."""
    value = document.get(key)
    if not isinstance(value, kind):
        wanted = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise PayloadError(f"{where}{key} must be a {wanted}")
    return value


def as_object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (optional sub-objects sources sometimes send as null)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def strings(value: Any) -> dict[str, str]:
    """A label/annotation map with every value as text (sources send numbers and nulls too)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(key)[:1024]: "" if item is None else str(item)[:4096] for key, item in value.items()}


def parse_time(value: Any, default: datetime | None = None) -> datetime:
    """RFC 3339 and the near-misses sources send (nanoseconds, `+0000` offsets, no zone); UTC when no zone."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if not isinstance(value, str) or not value.strip():
        return default or datetime.now(UTC)
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, rest = text.partition(".")
        zone = rest.lstrip("0123456789")
        digits = rest[: len(rest) - len(zone)]
        text = f"{head}.{digits[:6]}{zone}"
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"unreadable timestamp {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def severity_of(*candidates: Any, default: Severity = Severity.WARNING) -> Severity:
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip().lower() in SEVERITY_WORDS:
            return SEVERITY_WORDS[candidate.strip().lower()]
    return default


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """Stable id of a label set when the sender gave none (older Alertmanager)."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def raw_for_audit(request: InboundRequest) -> dict[str, Any] | str:
    if len(request.body) <= MAX_RAW_BYTES:
        try:
            document = request.document
        except ValueError:
            return request.body.decode(errors="replace")
        if isinstance(document, dict):
            return document
    return request.body[:MAX_RAW_BYTES].decode(errors="replace")


def clip(text: Any, limit: int) -> str:
    return ("" if text is None else str(text))[:limit]


def check_shared_secret(
    request: InboundRequest, credentials: IntegrationCredentials, query_names: tuple[str, ...] = ("token",)
) -> None:
    """Bearer token, Basic auth or a URL token — whichever the integration has configured; constant-time compare.

    `query_names` are the query parameters a source's senders put the token in when they cannot send headers
    (Cloud Monitoring's `auth_token`, Azure's `tokenid`). An integration whose credential cannot be read right now
    (an empty or missing Secret file) is unavailable (503), never open.
    """
    if credentials.token is None and credentials.basic_password is None:
        raise CredentialsUnavailableError()
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if credentials.token is not None:
        expected = credentials.token.encode()
        offered = [value.strip()] if scheme.lower() == "bearer" else []
        offered += [request.query[name] for name in query_names if request.query.get(name)]
        if any(hmac.compare_digest(candidate.encode(), expected) for candidate in offered if candidate):
            return
    if credentials.basic_password is not None and scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise AuthenticationError("malformed Basic credentials") from None
        user_ok = hmac.compare_digest(user.encode(), (credentials.basic_username or "").encode())
        if hmac.compare_digest(password.encode(), credentials.basic_password.encode()) and user_ok:
            return
    raise AuthenticationError("missing or wrong credentials for this integration")


def event(**values: Any) -> AlertEvent:
    """An AlertEvent with over-long texts clipped to the model's bounds instead of refused."""
    values["summary"] = clip(values.get("summary"), 1024) or "(no summary)"
    values["details"] = clip(values.get("details"), 16 * 1024)
    values["group_key"] = clip(values["group_key"], 1024)
    values["dedup_key"] = clip(values["dedup_key"], 1024)
    try:
        return AlertEvent(**values)
    except ValidationError as exc:
        # A value the model bounds refuse: a bad payload (400), never an error escaping as a 5xx.
        where = ".".join(str(part) for part in exc.errors()[0]["loc"])
        raise PayloadError(f"unusable value for {where}: {exc.errors()[0]['msg']}") from None
