"""The source strategy interface shared by the API server's webhook routes and the in-cluster webhook."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Protocol

from signalcraft.api import wire
from signalcraft.api.alerts import AlertEvent

# JSON may escape what no stored text can hold: lone UTF-16 surrogates ("\\ud800", not UTF-8) and NUL ("\\u0000",
# refused by PostgreSQL's text type). Both become U+FFFD before anything is acknowledged.
_ESCAPED_UNSTORABLE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


def _repaired(value: Any) -> Any:
    """`value` with every lone UTF-16 surrogate and NUL (escapes JSON allows but no stored text holds) as U+FFFD."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_repaired(key): _repaired(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_repaired(item) for item in value]
    return value


def load_json(body: bytes) -> Any:
    """The body as JSON with invalid Unicode repaired: bytes that are not UTF-8 and lone surrogate escapes become
    U+FFFD, and so do NUL escapes, so that everything stored afterwards is text every engine of the API accepts.
    Raises ValueError if not JSON."""
    return parse_json(body)[0]


def parse_json(body: bytes) -> tuple[Any, bool]:
    """`load_json`, and whether the body's bytes are that document verbatim (UTF-8 JSON, nothing repaired): then
    they may be embedded as they are wherever that document is sent on."""
    try:
        document, verbatim = wire.parse(body)  # NaN, ±Infinity, integers beyond ±(2^53-1): ValueError
    except UnicodeDecodeError:
        return _repaired(wire.loads(body.decode("utf-8", errors="replace"))), False
    if _ESCAPED_UNSTORABLE.search(body):
        return _repaired(document), False
    return document, verbatim


@dataclass(frozen=True)
class InboundRequest:
    """What a strategy may look at: lower-cased header names, the query string, and the raw body."""

    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def parsed(self) -> tuple[Any, bool]:
        """The body as repaired JSON and whether the body is that JSON verbatim (see `parse_json`), parsed once
        however many steps look at it."""
        return parse_json(self.body)

    @property
    def document(self) -> Any:
        """The body as repaired JSON (see `load_json`)."""
        return self.parsed[0]

    @property
    def verbatim(self) -> bool:
        """Whether `body` is `document` as UTF-8 JSON, nothing repaired (so it may be forwarded byte for byte)."""
        return self.parsed[1]


@dataclass(frozen=True)
class IntegrationCredentials:
    """The per-integration secrets a strategy verifies against (any of them may be unset)."""

    token: str | None = None
    hmac_secret: str | None = None
    basic_username: str | None = None
    basic_password: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


class SourceStrategy(Protocol):
    name: str
    authenticate_blocks: ClassVar[bool]
    """Whether `authenticate` may wait on the network (fetching an SNS certificate): run it off the event loop."""

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        """Raise AuthenticationError / ForbiddenError unless the request proves it comes from this integration."""

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        """Return the alert events in the body, or raise PayloadError with a reason."""

    async def confirm_subscription(self, request: InboundRequest, credentials: IntegrationCredentials) -> str | None:
        """For a sender that must be told "yes" before it delivers (an SNS SubscriptionConfirmation): confirm it,
        after `authenticate` passed, and return what was confirmed; None when there is nothing to confirm."""


class NoSubscription:
    """For the many sources that deliver without a subscription handshake."""

    authenticate_blocks: ClassVar[bool] = False

    async def confirm_subscription(self, request: InboundRequest, credentials: IntegrationCredentials) -> str | None:
        return None
