"""Integration: a way into (or out of) SignalCraft — a monitoring source, the Events API, or a ticketing system."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import Field

from signalcraft.api import Resource, SignalCraftClient
from signalcraft.api.specs import IntegrationType
from signalcraft.controllers.common import (
    CamelModel,
    LocalObjectReference,
    ManagedSpec,
    ManagedStatus,
    SecretKeySelector,
    cel,
)
from signalcraft.controllers.kind import DesiredState, ManagedKind, ResolvedReference, SecretReference, snake


def config_key(integration_type: IntegrationType) -> str:
    """The spec key holding a type's settings: `aws-cloudwatch` → `awsCloudwatch`."""
    head, *rest = integration_type.value.split("-")
    return head + "".join(part.capitalize() for part in rest)


class CredentialSource(CamelModel):
    secret_key_ref: SecretKeySelector = Field(description="Secret key holding the credential's value.")


class AlertmanagerSettings(CamelModel):
    default_severity: str | None = Field(
        default=None,
        pattern="^(critical|error|warning|info)$",
        description="Severity for alerts without a severity label.",
    )


class GrafanaSettings(CamelModel):
    default_severity: str | None = Field(
        default=None,
        pattern="^(critical|error|warning|info)$",
        description="Severity for alerts without a severity label.",
    )


class AwsCloudwatchSettings(CamelModel):
    allowed_topic_arns: list[Annotated[str, Field(max_length=256, pattern=r"^arn:")]] = Field(
        default_factory=list, max_length=50, description="SNS topic ARNs accepted; empty accepts any topic."
    )
    auto_confirm_subscriptions: bool = Field(
        default=True, description="Confirm SNS subscriptions automatically after the signature verifies."
    )
    raw_message_delivery: bool = Field(
        default=False,
        description="Accept SNS raw message deliveries; they are unsigned, so the webhook token is the only proof.",
    )
    eventbridge: bool = Field(
        default=False,
        description="Accept EventBridge alarm state changes; unsigned, so the webhook token is the only proof.",
    )


class AzureMonitorSettings(CamelModel):
    severity_map: dict[str, Annotated[str, Field(pattern="^(critical|error|warning|info)$")]] | None = Field(
        default=None, max_length=5, description="Sev0..Sev4 to critical|error|warning|info."
    )


class GcpMonitoringSettings(CamelModel):
    auth: str = Field(default="token", pattern="^(token|basic)$", description="How Google Cloud authenticates.")


class GenericWebhookSettings(CamelModel):
    summary_field: str = Field(default="summary", max_length=253, description="Dotted path of the summary.")
    severity_field: str | None = Field(default=None, max_length=253, description="Dotted path of the severity.")
    dedup_key_field: str | None = Field(default=None, max_length=253, description="Dotted path of the dedup key.")
    status_field: str | None = Field(
        default=None, max_length=253, description="Dotted path of the status (firing/resolved)."
    )


class JiraSettings(CamelModel):
    base_url: str = Field(
        pattern=r"^https?://", max_length=2048, description="Jira site, e.g. https://x.atlassian.net."
    )
    project_key: str = Field(min_length=1, max_length=32, description="Project new tickets are created in.")
    issue_type: str = Field(default="Bug", max_length=128, description="Issue type of new tickets.")
    auto_create_severity: str | None = Field(
        default="critical",
        pattern="^(critical|error|warning|info)$",
        description="Alert groups of this severity get a ticket automatically; unset disables automation.",
    )
    transition_on_resolve: bool = Field(default=True, description="Transition the issue when its group resolves.")
    resolve_transition: str = Field(default="Done", max_length=128, description="Name of the transition to apply.")
    reopen_on_ticket_reopen: bool = Field(
        default=False, description="Re-fire the alert group when its issue leaves Done."
    )
    custom_fields: dict[str, Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=dict,
        max_length=20,
        description="Jira custom field id to text; {severity}, {summary}, {id}, {integration}, {status} are filled in.",
    )

    # Structural schemas cannot constrain map keys (no patternProperties): a CEL rule does.
    cel_rules: ClassVar[list[dict[str, str]]] = [
        cel(
            "!has(self.customFields) || self.customFields.all(k, k.matches('^customfield_[0-9]+$'))",
            "customFields keys are Jira custom field ids (customfield_<number>)",
            fieldPath=".customFields",
        )
    ]


class ServiceNowSettings(CamelModel):
    instance_url: str = Field(
        pattern=r"^https?://", max_length=2048, description="ServiceNow instance, e.g. https://x.service-now.com."
    )
    assignment_group: str | None = Field(default=None, max_length=255, description="Group new incidents go to.")
    caller: str | None = Field(default=None, max_length=255, description="Caller of new incidents.")
    auto_create_severity: str | None = Field(
        default="critical",
        pattern="^(critical|error|warning|info)$",
        description="Alert groups of this severity get an incident automatically; unset disables automation.",
    )
    transition_on_resolve: bool = Field(default=True, description="Resolve the incident when its group resolves.")
    close_code: str = Field(default="Solved (Permanently)", max_length=128, description="Close code on resolve.")
    reopen_on_ticket_reopen: bool = Field(
        default=False, description="Re-fire the alert group when its incident is re-opened."
    )


class EventsApiSettings(CamelModel):
    pass


SETTINGS_MODELS: dict[IntegrationType, type[CamelModel]] = {
    IntegrationType.ALERTMANAGER: AlertmanagerSettings,
    IntegrationType.GRAFANA: GrafanaSettings,
    IntegrationType.AWS_CLOUDWATCH: AwsCloudwatchSettings,
    IntegrationType.AZURE_MONITOR: AzureMonitorSettings,
    IntegrationType.GCP_MONITORING: GcpMonitoringSettings,
    IntegrationType.GENERIC_WEBHOOK: GenericWebhookSettings,
    IntegrationType.JIRA: JiraSettings,
    IntegrationType.SERVICENOW: ServiceNowSettings,
    IntegrationType.EVENTS_API: EventsApiSettings,
}


class IntegrationSpec(ManagedSpec):
    type: IntegrationType = Field(description="Which system this integration connects.")
    alertmanager: AlertmanagerSettings | None = Field(default=None, description="Settings when type is alertmanager.")
    grafana: GrafanaSettings | None = Field(default=None, description="Settings when type is grafana.")
    aws_cloudwatch: AwsCloudwatchSettings | None = Field(
        default=None, description="Settings when type is aws-cloudwatch."
    )
    azure_monitor: AzureMonitorSettings | None = Field(default=None, description="Settings when type is azure-monitor.")
    gcp_monitoring: GcpMonitoringSettings | None = Field(
        default=None, description="Settings when type is gcp-monitoring."
    )
    generic_webhook: GenericWebhookSettings | None = Field(
        default=None, description="Settings when type is generic-webhook."
    )
    jira: JiraSettings | None = Field(default=None, description="Settings when type is jira.")
    servicenow: ServiceNowSettings | None = Field(default=None, description="Settings when type is servicenow.")
    events_api: EventsApiSettings | None = Field(default=None, description="Settings when type is events-api.")
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
        *(
            cel(
                f"!has(self.{config_key(kind)}) || self.type == '{kind.value}'",
                f"{config_key(kind)} settings are only allowed when type is {kind.value}",
                fieldPath=f".{config_key(kind)}",
            )
            for kind in IntegrationType
        ),
        cel("self.type != 'jira' || has(self.jira)", "type jira needs jira settings (baseUrl, projectKey)"),
        cel("self.type != 'servicenow' || has(self.servicenow)", "type servicenow needs servicenow settings"),
    ]

    def settings(self) -> CamelModel | None:
        value = getattr(self, _python_name(self.type))
        return value if isinstance(value, CamelModel) else None


def _python_name(integration_type: IntegrationType) -> str:
    return integration_type.value.replace("-", "_")


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
        assert isinstance(spec, IntegrationSpec)
        return [
            SecretReference(snake(name), source.secret_key_ref.name, source.secret_key_ref.key)
            for name, source in sorted(spec.credentials.items())
        ]

    def desired(self, spec: ManagedSpec, references: Mapping[str, ResolvedReference]) -> DesiredState:
        assert isinstance(spec, IntegrationSpec)
        body: dict[str, Any] = {"type": spec.type.value}
        settings = spec.settings()
        if settings is not None:
            body[_python_name(spec.type)] = settings.model_dump(mode="json", exclude_none=True)
        return DesiredState(spec=body)

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
        assert isinstance(spec, IntegrationSpec)
        target = spec.write_connection_secret_to_ref
        return target.name if target is not None else None

    async def connection_data(self, api: SignalCraftClient, spec: ManagedSpec, remote_name: str) -> dict[str, str]:
        assert isinstance(spec, IntegrationSpec)
        connection = await api.integration_connection(remote_name)
        data = {
            "webhookURL": connection.webhook_url,
            "webhookToken": connection.webhook_token,
            "integrationKey": connection.integration_key,
        }
        if spec.type is IntegrationType.ALERTMANAGER:
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
