"""The `spec` models of every configurable collection, declared once.

The API server validates request bodies with these models, the client returns resources typed by them, and the
operator's CRD models are derived from them. JSON field names are the API's snake_case; unknown fields are refused.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from signalcraft.api.patterns import compile_pattern


class Severity(StrEnum):
    """PagerDuty Events v2 severities, the one severity scale SignalCraft uses everywhere."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class IntegrationType(StrEnum):
    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"
    AWS_CLOUDWATCH = "aws-cloudwatch"
    AZURE_MONITOR = "azure-monitor"
    GCP_MONITORING = "gcp-monitoring"
    GENERIC_WEBHOOK = "generic-webhook"
    JIRA = "jira"
    SERVICENOW = "servicenow"
    EVENTS_API = "events-api"


NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
Name = Annotated[str, Field(min_length=1, max_length=253, pattern=NAME_PATTERN)]
ShortText = Annotated[str, Field(max_length=1024)]
LABEL_KEY_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
LabelKey = Annotated[str, Field(min_length=1, max_length=253, pattern=LABEL_KEY_PATTERN)]
"""Kubernetes-style label keys (optional DNS prefix + '/' + name), so every key can be used in a label_selector."""
LabelValue = Annotated[str, Field(max_length=253, pattern=r"^[^,]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


ONE_OF_NAME_OR_ID: dict[str, Any] = {"oneOf": [{"required": ["name"]}, {"required": ["id"]}]}


class Reference(Strict):
    """A reference to another resource by name or id (either key)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=ONE_OF_NAME_OR_ID)

    name: Name | None = None
    id: Annotated[str, Field(max_length=64)] | None = None

    @model_validator(mode="after")
    def one_key(self) -> Reference:
        if (self.name is None) == (self.id is None):
            raise ValueError("a reference names exactly one of name or id")
        return self


# ---------------------------------------------------------------- configurable resources' specs

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
TimeZone = Annotated[str, Field(min_length=1, max_length=64)]


def _known_time_zone(value: str) -> str:
    """An IANA time zone name the server's zone database knows ("UTC", "Europe/Berlin")."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone name") from None
    return value


class UserRole(StrEnum):
    """What a person may do: owners and admins configure, responders handle alerts, observers only look."""

    OWNER = "owner"
    ADMIN = "admin"
    RESPONDER = "responder"
    OBSERVER = "observer"


class UserSpec(Strict):
    """A person. Creating one invites them (`status.invite_state` is `invited` until they first sign in)."""

    email: Annotated[str, Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
    role: UserRole = UserRole.RESPONDER
    time_zone: TimeZone | None = None

    @field_validator("time_zone")
    @classmethod
    def known_zone(cls, value: str | None) -> str | None:
        return value if value is None else _known_time_zone(value)


class NotificationChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    VOICE = "voice"


class NotificationDefaults(Strict):
    """How people are notified unless their own settings say otherwise."""

    channels: list[NotificationChannel] = Field(default=[NotificationChannel.EMAIL], min_length=1, max_length=4)
    reminder_minutes: int = Field(default=0, ge=0, le=1440, description="Re-notify after this long; 0 = never.")
    notify_on_resolve: bool = True


class WorkspaceSpec(Strict):
    """The workspace's settings (the organisation as a whole); its name is the envelope's `display_name`."""

    time_zone: TimeZone = "UTC"
    default_severity: Severity = Severity.ERROR
    notifications: NotificationDefaults = Field(default_factory=NotificationDefaults)

    @field_validator("time_zone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        return _known_time_zone(value)


class TeamMember(Strict):
    user: Annotated[str, Field(min_length=1, max_length=253)]
    role: Literal["member", "manager"] = "member"


class TeamSpec(Strict):
    description: ShortText | None = None
    members: list[TeamMember] = Field(default_factory=list, max_length=200)


class ScheduleLayer(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    start: Annotated[str, Field(max_length=32, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")]
    rotation_turn_length_seconds: int = Field(ge=3600, le=365 * 86400)
    users: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(min_length=1, max_length=100)


class ScheduleSpec(Strict):
    description: ShortText | None = None
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    layers: list[ScheduleLayer] = Field(min_length=1, max_length=10)
    handoff_notifications: Literal["always", "if_has_services"] = "if_has_services"


class TargetType(StrEnum):
    SCHEDULE = "schedule"
    USER = "user"
    TEAM = "team"


class EscalationTarget(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=ONE_OF_NAME_OR_ID)

    type: TargetType
    id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    name: Annotated[str, Field(min_length=1, max_length=253)] | None = None

    @model_validator(mode="after")
    def one_key(self) -> EscalationTarget:
        if (self.name is None) == (self.id is None):
            raise ValueError("a target names exactly one of id or name")
        return self


class EscalationRule(Strict):
    delay_minutes: int = Field(ge=0, le=1440)
    targets: list[EscalationTarget] = Field(min_length=1, max_length=10)


class EscalationPolicySpec(Strict):
    description: ShortText | None = None
    rules: list[EscalationRule] = Field(min_length=1, max_length=20)
    num_loops: int = Field(default=0, ge=0, le=9)


class MetricThreshold(Strict):
    type: Literal["metric_threshold"]
    metric: Annotated[str, Field(min_length=1, max_length=253)]
    operator: Literal["gt", "gte", "lt", "lte", "eq", "ne"]
    value: float
    for_: Annotated[str, Field(max_length=32, pattern=r"^([0-9]+(s|m|h))+$")] | None = Field(default=None, alias="for")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AlertPolicySpec(Strict):
    description: ShortText | None = None
    severity: Severity
    routing_key: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][-_.A-Za-z0-9]*$")]
    conditions: list[MetricThreshold] = Field(default_factory=list, max_length=20)
    escalation_policy: Reference | None = None


class RoutingCondition(Strict):
    """One test on an incoming event; `labels` need the label `key`, `in` a list value, `exists` no value."""

    field: Literal["summary", "source", "severity", "dedup_key", "labels", "integration.type", "integration.name"]
    key: Annotated[str, Field(min_length=1, max_length=253)] | None = None
    operator: Literal["equals", "contains", "starts_with", "ends_with", "matches", "exists", "in"]
    value: Annotated[str, Field(max_length=1024)] | list[Annotated[str, Field(max_length=1024)]] | None = None

    @model_validator(mode="after")
    def operands_fit_the_operator(self) -> RoutingCondition:
        if (self.field == "labels") != (self.key is not None):
            raise ValueError("'key' names the label, and only the labels field takes one")
        if self.operator == "exists":
            if self.value is not None:
                raise ValueError("exists takes no value")
        elif self.operator == "in":
            if not isinstance(self.value, list):
                raise ValueError("in takes a list of values")
        elif not isinstance(self.value, str):
            raise ValueError(f"{self.operator} takes one string value")
        if self.operator == "matches":
            assert isinstance(self.value, str)
            compile_pattern(self.value)  # routing runs it with this same engine: refuse now what it could not run
        return self


class RoutingConditions(Strict):
    match: Literal["all", "any"] = "all"
    items: list[RoutingCondition] = Field(min_length=1, max_length=20)


class RoutingActions(Strict):
    alert_policy: Reference | None = None
    severity: Severity | None = None
    suppress: bool = False


class RoutingRuleSpec(Strict):
    """If an event from an integration matches `conditions`, apply `actions`; rules run by ascending priority
    (then name) and the first match wins."""

    description: ShortText | None = None
    priority: int = Field(default=100, ge=0, le=10000)
    conditions: RoutingConditions
    actions: RoutingActions


SeverityText = Literal["critical", "error", "warning", "info"]


class AlertmanagerSettings(Strict):
    default_severity: SeverityText | None = None


class GrafanaSettings(Strict):
    default_severity: SeverityText | None = None


class AwsCloudwatchSettings(Strict):
    allowed_topic_arns: list[Annotated[str, Field(max_length=256, pattern=r"^arn:")]] = Field(
        default_factory=list, max_length=50
    )
    auto_confirm_subscriptions: bool = True
    raw_message_delivery: bool = False
    """Accept SNS raw message deliveries (unsigned: the webhook token is then the only proof)."""
    eventbridge: bool = False
    """Accept EventBridge "CloudWatch Alarm State Change" events (unsigned: the webhook token is the only proof)."""


class AzureMonitorSettings(Strict):
    severity_map: dict[Literal["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"], SeverityText] | None = None


class GcpMonitoringSettings(Strict):
    auth: Literal["token", "basic"] = "token"


class GenericWebhookSettings(Strict):
    summary_field: Annotated[str, Field(max_length=253)] = "summary"
    severity_field: Annotated[str, Field(max_length=253)] | None = None
    dedup_key_field: Annotated[str, Field(max_length=253)] | None = None
    status_field: Annotated[str, Field(max_length=253)] | None = None


class JiraSettings(Strict):
    base_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")]
    project_key: Annotated[str, Field(min_length=1, max_length=32)]
    issue_type: Annotated[str, Field(max_length=128)] = "Bug"
    auto_create_severity: SeverityText | None = "critical"
    transition_on_resolve: bool = True
    resolve_transition: Annotated[str, Field(max_length=128)] = "Done"
    reopen_on_ticket_reopen: bool = False
    custom_fields: dict[
        Annotated[str, Field(pattern=r"^customfield_[0-9]+$")], Annotated[str, Field(max_length=1024)]
    ] = Field(default_factory=dict, max_length=20)
    """Jira custom field id → text; {id}, {severity}, {summary}, {integration}, {status} name the alert group's."""


class ServiceNowSettings(Strict):
    instance_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")]
    assignment_group: Annotated[str, Field(max_length=255)] | None = None
    caller: Annotated[str, Field(max_length=255)] | None = None
    auto_create_severity: SeverityText | None = "critical"
    transition_on_resolve: bool = True
    close_code: Annotated[str, Field(max_length=128)] = "Solved (Permanently)"
    reopen_on_ticket_reopen: bool = False


class EventsApiSettings(Strict):
    pass


INTEGRATION_SETTINGS: dict[IntegrationType, type[Strict]] = {
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
"""Each integration type's settings model; the settings live in `spec` under `settings_key(type)`."""

SETTINGS_REQUIRED = frozenset({IntegrationType.JIRA, IntegrationType.SERVICENOW})
"""Types that cannot work without their settings (where to open tickets)."""


def settings_key(integration_type: IntegrationType) -> str:
    """The spec key of a type's settings: `aws-cloudwatch` -> `aws_cloudwatch`."""
    return integration_type.value.replace("-", "_")


class IntegrationSpec(Strict):
    type: IntegrationType
    alertmanager: AlertmanagerSettings | None = None
    grafana: GrafanaSettings | None = None
    aws_cloudwatch: AwsCloudwatchSettings | None = None
    azure_monitor: AzureMonitorSettings | None = None
    gcp_monitoring: GcpMonitoringSettings | None = None
    generic_webhook: GenericWebhookSettings | None = None
    jira: JiraSettings | None = None
    servicenow: ServiceNowSettings | None = None
    events_api: EventsApiSettings | None = None

    @model_validator(mode="after")
    def settings_match_type(self) -> IntegrationSpec:
        for kind in IntegrationType:
            if kind != self.type and getattr(self, settings_key(kind)) is not None:
                raise ValueError(f"{settings_key(kind)} settings are only allowed when type is {kind.value}")
        if self.type in SETTINGS_REQUIRED and self.settings() is None:
            raise ValueError(f"type {self.type.value} needs {settings_key(self.type)} settings")
        return self

    def settings(self) -> Strict | None:
        """The settings of this integration's own type, if given."""
        value = getattr(self, settings_key(self.type))
        return value if isinstance(value, Strict) else None
