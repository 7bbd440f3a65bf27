"""The source strategy interface shared by the API server's webhook routes and the in-cluster webhook."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from signalcraft.api.alerts import AlertEvent


@dataclass(frozen=True)
class InboundRequest:
    """What a strategy may look at: lower-cased header names, the query string, and the raw body."""

    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


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

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        """Raise AuthenticationError / ForbiddenError unless the request proves it comes from this integration."""

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        """Return the alert events in the body, or raise PayloadError with a reason."""
