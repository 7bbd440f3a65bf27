"""Integration: a way into (or out of) SignalCraft — a monitoring source, the Events API, or a ticketing system."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import yaml
from pydantic import Field

from signalcraft.api import Resource, SignalCraftClient, specs
from signalcraft.controllers.common import (
    CamelModel,
    LocalObjectReference,
    ManagedSpec,
    ManagedStatus,
    SecretKeySelector,
    cel,
)
from signalcraft.controllers.derive import kubernetes_view
from signalcraft.controllers.kind import ManagedKind, SecretReference, snake


class CredentialSource(CamelModel):
    secret_key_ref: SecretKeySelector = Field(description="Secret key holding the credential's value.")


class IntegrationSecrets(ManagedSpec):
    """The Kubernetes side of an Integration: credentials come from Secrets, the connection goes into one."""

    credentials: dict[str, CredentialSource] = Field(
        default_factory=dict,
        max_length=10,
        description="Secrets the integration needs (e.g. apiToken, hmacSecret), each read from a Secret key.",
    )
    write_connection_secret_to_ref: LocalObjectReference | None = Field(
        default=None,
        description="Secret (created and owned by this resource) that receives the webhook URL and integration key.",
    )

    cel_rules: ClassVar[list[dict[str, str]]] = [
        *ManagedSpec.cel_rules,
        cel("self.type == oldSelf.type", "type is immutable", reason="FieldValueForbidden", fieldPath=".type"),
    ]


IntegrationSpec = kubernetes_view(specs.IntegrationSpec, base=IntegrationSecrets)


class OutboundCall(CamelModel):
    ok: bool = Field(description="Whether the call succeeded.")
    at: str = Field(default="", max_length=64, description="When it was made.")
    error: str | None = Field(default=None, max_length=1024, description="What went wrong, when it failed.")


class IntegrationStatus(ManagedStatus):
    webhook_url: str | None = Field(
        default=None,
        alias="webhookURL",
        description="Where the source sends its traffic; the token itself is only in the connection Secret.",
    )
    last_event_received_at: str | None = Field(default=None, description="When SignalCraft last received an event.")
    credentials_secret_versions: dict[str, str] | None = Field(
        default=None,
        max_length=10,
        description="resourceVersion of each credential Secret last sent to SignalCraft; changes when one rotates.",
    )
    connection_secret_name: str | None = Field(
        default=None, description="The connection Secret this resource created and keeps up to date."
    )
    connection_secret_version: str | None = Field(
        default=None, description="resourceVersion of the connection Secret as last written."
    )
    last_outbound_call: OutboundCall | None = Field(
        default=None, description="Ticketing integrations: whether SignalCraft's last call to the system worked."
    )


class IntegrationKind(ManagedKind):
    kind = "Integration"
    plural = "integrations"
    collection = "integrations"
    short_names = ("scint",)
    spec_model = IntegrationSpec
    status_model = IntegrationStatus
    description = "An integration in SignalCraft (a monitoring source, the Events API or ticketing)."
    extra_printer_columns = ({"name": "Type", "type": "string", "jsonPath": ".spec.type"},)

    def secret_references(self, spec: ManagedSpec) -> list[SecretReference]:
        assert isinstance(spec, IntegrationSecrets)
        return [
            SecretReference(snake(name), source.secret_key_ref.name, source.secret_key_ref.key)
            for name, source in sorted(spec.credentials.items())
        ]

    def remote_status(self, remote: Resource, previous: Mapping[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "lastEventReceivedAt": remote.status.get("last_event_received_at") or previous.get("lastEventReceivedAt"),
        }
        outbound = remote.status.get("last_outbound")
        if isinstance(outbound, dict):
            call: dict[str, Any] = {"ok": bool(outbound.get("ok")), "at": str(outbound.get("at", ""))}
            if outbound.get("error"):
                call["error"] = str(outbound["error"])[:1024]
            extra["lastOutboundCall"] = call
        return extra

    def connection_secret(self, spec: ManagedSpec) -> str | None:
        assert isinstance(spec, IntegrationSecrets)
        target = spec.write_connection_secret_to_ref
        return target.name if target is not None else None

    async def connection_data(self, api: SignalCraftClient, spec: ManagedSpec, remote_name: str) -> dict[str, str]:
        assert isinstance(spec, IntegrationSecrets)
        connection = await api.integration_connection(remote_name)
        data = {
            "webhookURL": connection.webhook_url,
            "webhookToken": connection.webhook_token,
            "integrationKey": connection.integration_key,
        }
        if spec.model_dump(include={"type"}).get("type") == specs.IntegrationType.ALERTMANAGER:
            data["alertmanager.yml"] = alertmanager_receiver(connection.webhook_url)
        return data

    def connection_status(self, data: Mapping[str, str], secret_name: str) -> dict[str, Any]:
        # The URL carries the token, a secret: status shows where to send, the Secret holds the real URL.
        masked = data["webhookURL"]
        for secret in (data.get("webhookToken"), data.get("integrationKey")):
            if secret:
                masked = masked.replace(secret, f"<{secret_name}>")
        return {"webhookURL": masked}


def alertmanager_receiver(webhook_url: str) -> str:
    """A ready-to-use Alertmanager receiver for an alertmanager Integration (written to its connection Secret)."""
    receiver = {
        "receivers": [
            {"name": "signalcraft", "webhook_configs": [{"url": webhook_url, "send_resolved": True, "timeout": "10s"}]}
        ]
    }
    return yaml.safe_dump(receiver, sort_keys=False)
