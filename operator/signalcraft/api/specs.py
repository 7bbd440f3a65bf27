"""The `spec` models of every configurable collection, declared once.

The API server validates request bodies with these models, the client returns resources typed by them, and the
operator's CRD models are derived from them (`signalcraft.controllers.derive`): the same fields, bounds, enums,
descriptions and cross-field rules (`signalcraft.api.rules`). JSON field names are the API's snake_case; unknown fields
are refused. A spec is stored and echoed as the client wrote it plus its defaults; numbers keep their kind.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from signalcraft.api.limits import MAX_SAFE_INTEGER
from signalcraft.api.patterns import compile_pattern
from signalcraft.api.rules import Rule, RuleChecked, exactly_one_of


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


NUMBER_SCHEMA: dict[str, Any] = {"type": "number", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER}
Number = Annotated[
    Annotated[int, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]
    | Annotated[float, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER, allow_inf_nan=False)],
    WithJsonSchema(NUMBER_SCHEMA),
]
"""A JSON number that keeps its kind: `90` stays the integer 90 (not 90.0), so it is echoed as written; finite and
within what every JSON parser holds exactly."""


class Strict(RuleChecked):
    """Base of the contract's request models: unknown fields are refused, cross-field rules are checked."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Reference(Strict):
    """A reference to another resource by name or id (either key)."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["name"]}, {"required": ["id"]}]})

    name: Name | None = Field(default=None, description="Name of the referenced object.")
    id: Annotated[str, Field(max_length=64)] | None = Field(default=None, description="Id of the referenced object.")

    cross_field_rules = (
        exactly_one_of(
            "name",
            "id",
            "a reference names exactly one of name or id",
            valid=({"name": "x"}, {"id": "esc_1"}),
            invalid=({}, {"name": "x", "id": "esc_1"}),
        ),
    )


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

    email: Annotated[str, Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)] = Field(
        description="Where the invitation and notifications go; unique among users."
    )
    role: UserRole = UserRole.RESPONDER
    time_zone: TimeZone | None = Field(
        default=None, description="IANA time zone the person's schedules are shown in, e.g. Europe/Berlin."
    )

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


Description = Annotated[ShortText | None, Field(description="What this object is for.")]


class TeamMember(Strict):
    user: Annotated[str, Field(min_length=1, max_length=253, description="Name of the user.")]
    role: Literal["member", "manager"] = Field(default="member", description="The user's role in the team.")


class TeamSpec(Strict):
    description: Description = None
    members: list[TeamMember] = Field(default_factory=list, max_length=200, description="The team's members.")


class ScheduleLayer(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100, description="Name of the layer.")]
    start: Annotated[
        str,
        Field(
            max_length=32,
            pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
            description="When the rotation starts (RFC 3339, UTC).",
        ),
    ]
    rotation_turn_length_seconds: int = Field(ge=3600, le=365 * 86400, description="Length of one user's turn.")
    users: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
        min_length=1, max_length=100, description="Users in rotation order."
    )


class ScheduleSpec(Strict):
    description: Description = None
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        default="UTC", description="IANA time zone the layers are read in."
    )
    layers: list[ScheduleLayer] = Field(min_length=1, max_length=10, description="Rotation layers, last on top.")
    handoff_notifications: Literal["always", "if_has_services"] = Field(
        default="if_has_services", description="When users are told their on-call turn begins."
    )


class TargetType(StrEnum):
    SCHEDULE = "schedule"
    USER = "user"
    TEAM = "team"


class EscalationTarget(Strict):
    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["name"]}, {"required": ["id"]}]})

    type: TargetType = Field(description="What is notified: the on-call of a schedule, a user, or a team.")
    id: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        default=None, description="SignalCraft id of the target."
    )
    name: Annotated[str, Field(min_length=1, max_length=253)] | None = Field(
        default=None, description="SignalCraft name of the target."
    )

    cross_field_rules = (
        exactly_one_of(
            "id",
            "name",
            "a target names exactly one of id or name",
            valid=({"type": "user", "id": "u1"}, {"type": "team", "name": "dba"}),
            invalid=({"type": "user"}, {"type": "user", "id": "u1", "name": "alice"}),
        ),
    )


class EscalationRule(Strict):
    delay_minutes: int = Field(
        ge=0, le=1440, description="Minutes to wait after the previous rule (or the alert) before notifying."
    )
    targets: list[EscalationTarget] = Field(min_length=1, max_length=10, description="Who this rule notifies.")


class EscalationPolicySpec(Strict):
    description: Description = None
    rules: list[EscalationRule] = Field(
        min_length=1, max_length=20, description="Ordered escalation steps; the first runs when an alert fires."
    )
    num_loops: int = Field(default=0, ge=0, le=9, description="How many times the whole policy loops when nobody acts.")


class ComparisonOperator(StrEnum):
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EQ = "eq"
    NE = "ne"


class MetricThreshold(Strict):
    model_config = ConfigDict(populate_by_name=True)

    type: Literal["metric_threshold"] = Field(description="Condition kind; metric_threshold compares a metric.")
    metric: Annotated[str, Field(min_length=1, max_length=253)] = Field(description="Metric name, e.g. cpu_usage.")
    operator: ComparisonOperator = Field(description="How the metric is compared with value: gt|gte|lt|lte|eq|ne.")
    value: Number = Field(description="Threshold the metric is compared with.")
    for_: Annotated[str, Field(max_length=32, pattern=r"^([0-9]+(s|m|h))+$")] | None = Field(
        default=None, alias="for", description="How long the condition must hold before firing, e.g. 5m."
    )


def _distinct_metric_operators(spec: Any) -> bool:
    pairs = [(condition.metric, condition.operator) for condition in spec.conditions]
    return len(pairs) == len(set(pairs))


_CONDITION = {"type": "metric_threshold", "metric": "cpu", "operator": "gt", "value": 90}


class AlertPolicySpec(Strict):
    description: Description = None
    severity: Severity = Field(description="Severity of the alerts this policy raises: critical|error|warning|info.")
    routing_key: Annotated[
        str,
        Field(
            min_length=1,
            max_length=128,
            pattern=r"^[A-Za-z0-9][-_.A-Za-z0-9]*$",
            description="Events sent with this routing key are handled by this policy.",
        ),
    ]
    conditions: list[MetricThreshold] = Field(
        default_factory=list, max_length=20, description="All conditions must hold for the policy to fire."
    )
    escalation_policy: Reference | None = Field(
        default=None, description="Escalation policy notified when this policy fires."
    )

    cross_field_rules = (
        Rule(
            cel="!has(self.conditions) || self.conditions.all(c, self.conditions.exists_one(d, d.metric == c.metric "
            "&& d.operator == c.operator))",
            check=_distinct_metric_operators,
            message="each metric/operator pair may appear only once in conditions",
            field_path=".conditions",
            valid=(
                {"severity": "info", "routing_key": "k", "conditions": [_CONDITION, {**_CONDITION, "operator": "lt"}]},
            ),
            invalid=({"severity": "info", "routing_key": "k", "conditions": [_CONDITION, {**_CONDITION, "value": 5}]},),
        ),
    )


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
    match: Literal["all", "any"] = Field(default="all", description="all: every item must hold; any: one is enough.")
    items: list[RoutingCondition] = Field(min_length=1, max_length=20)


class RoutingActions(Strict):
    alert_policy: Reference | None = None
    severity: Severity | None = None
    suppress: bool = Field(default=False, description="Drop the matching event (no alert is raised).")


class RoutingRuleSpec(Strict):
    """If an event from an integration matches `conditions`, apply `actions`; rules run by ascending priority
    (then name) and the first match wins."""

    description: ShortText | None = Field(default=None, description="What this rule is for.")
    priority: int = Field(default=100, ge=0, le=10000, description="Lower runs first; the first matching rule wins.")
    conditions: RoutingConditions
    actions: RoutingActions


SeverityText = Literal["critical", "error", "warning", "info"]
AUTO_CREATE = "Alert groups of this severity get a ticket automatically; unset disables automation."


class AlertmanagerSettings(Strict):
    default_severity: SeverityText | None = Field(
        default=None, description="Severity for alerts without a severity label."
    )


class GrafanaSettings(Strict):
    default_severity: SeverityText | None = Field(
        default=None, description="Severity for alerts without a severity label."
    )


class AwsCloudwatchSettings(Strict):
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


class AzureMonitorSettings(Strict):
    severity_map: dict[Literal["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"], SeverityText] | None = Field(
        default=None, max_length=5, description="Sev0..Sev4 to critical|error|warning|info."
    )


class GcpMonitoringSettings(Strict):
    auth: Literal["token", "basic"] = Field(default="token", description="How Google Cloud authenticates.")


class GenericWebhookSettings(Strict):
    summary_field: Annotated[str, Field(max_length=253)] = Field(
        default="summary", description="Dotted path of the summary."
    )
    severity_field: Annotated[str, Field(max_length=253)] | None = Field(
        default=None, description="Dotted path of the severity."
    )
    dedup_key_field: Annotated[str, Field(max_length=253)] | None = Field(
        default=None, description="Dotted path of the dedup key."
    )
    status_field: Annotated[str, Field(max_length=253)] | None = Field(
        default=None, description="Dotted path of the status (firing/resolved)."
    )


class JiraSettings(Strict):
    base_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] = Field(
        description="Jira site, e.g. https://x.atlassian.net."
    )
    project_key: Annotated[str, Field(min_length=1, max_length=32)] = Field(
        description="Project new tickets are created in."
    )
    issue_type: Annotated[str, Field(max_length=128)] = Field(default="Bug", description="Issue type of new tickets.")
    auto_create_severity: SeverityText | None = Field(default="critical", description=AUTO_CREATE)
    transition_on_resolve: bool = Field(default=True, description="Transition the issue when its group resolves.")
    resolve_transition: Annotated[str, Field(max_length=128)] = Field(
        default="Done", description="Name of the transition to apply."
    )
    reopen_on_ticket_reopen: bool = Field(
        default=False, description="Re-fire the alert group when its issue leaves Done."
    )
    custom_fields: dict[
        Annotated[str, Field(pattern=r"^customfield_[0-9]+$")], Annotated[str, Field(max_length=1024)]
    ] = Field(
        default_factory=dict,
        max_length=20,
        description="Jira custom field id (customfield_<number>) to text; {severity}, {summary}, {id}, {integration}, "
        "{status} are filled in.",
    )


class ServiceNowSettings(Strict):
    instance_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] = Field(
        description="ServiceNow instance, e.g. https://x.service-now.com."
    )
    assignment_group: Annotated[str, Field(max_length=255)] | None = Field(
        default=None, description="Group new incidents go to."
    )
    caller: Annotated[str, Field(max_length=255)] | None = Field(default=None, description="Caller of new incidents.")
    auto_create_severity: SeverityText | None = Field(default="critical", description=AUTO_CREATE)
    transition_on_resolve: bool = Field(default=True, description="Resolve the incident when its group resolves.")
    close_code: Annotated[str, Field(max_length=128)] = Field(
        default="Solved (Permanently)", description="Close code on resolve."
    )
    reopen_on_ticket_reopen: bool = Field(
        default=False, description="Re-fire the alert group when its incident is re-opened."
    )


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

_SMALLEST_SETTINGS: dict[IntegrationType, dict[str, Any]] = {
    IntegrationType.JIRA: {"base_url": "https://x.atlassian.net", "project_key": "OPS"},
    IntegrationType.SERVICENOW: {"instance_url": "https://x.service-now.com"},
}
"""Examples for the rules below: the least settings each type accepts."""


def settings_key(integration_type: IntegrationType) -> str:
    """The spec key of a type's settings: `aws-cloudwatch` -> `aws_cloudwatch`."""
    return integration_type.value.replace("-", "_")


def _only_own_settings(kind: IntegrationType) -> Rule:
    key = settings_key(kind)
    other = IntegrationType.EVENTS_API if kind != IntegrationType.EVENTS_API else IntegrationType.ALERTMANAGER
    return Rule(
        cel=f"!has(self.{key}) || self.type == '{kind.value}'",
        check=lambda spec: getattr(spec, key) is None or spec.type == kind,
        message=f"{kind.value} settings are only allowed when type is {kind.value}",
        field_path=f".{key}",
        valid=({"type": kind.value, key: _SMALLEST_SETTINGS.get(kind, {})},),
        invalid=({"type": other.value, key: _SMALLEST_SETTINGS.get(kind, {})},),
    )


def _needs_settings(kind: IntegrationType) -> Rule:
    key = settings_key(kind)
    return Rule(
        cel=f"self.type != '{kind.value}' || has(self.{key})",
        check=lambda spec: spec.type != kind or getattr(spec, key) is not None,
        message=f"type {kind.value} needs {kind.value} settings",
        valid=({"type": kind.value, key: _SMALLEST_SETTINGS[kind]},),
        invalid=({"type": kind.value},),
    )


class IntegrationSpec(Strict):
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

    cross_field_rules = (
        *(_only_own_settings(kind) for kind in IntegrationType),
        *(_needs_settings(kind) for kind in sorted(SETTINGS_REQUIRED)),
    )

    def settings(self) -> Strict | None:
        """The settings of this integration's own type, if given."""
        value = getattr(self, settings_key(self.type))
        return value if isinstance(value, Strict) else None
