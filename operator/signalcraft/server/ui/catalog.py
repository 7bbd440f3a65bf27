"""The integrations catalog: one table says what each integration type is called, what it does and how it looks.

Logos are drawn only where their licence allows it: the simple-icons package (CC0) has Prometheus, Grafana, Jira and
Google Cloud; AWS, Azure and ServiceNow (whose marks it does not carry under a licence we can use) and our own generic
sources get neutral lettered tiles. Changing a logo means changing `LOGOS` and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from signalcraft.api.specs import IntegrationType


class Category(StrEnum):
    MONITORING = "monitoring"
    CLOUD = "cloud"
    TICKETING = "ticketing"
    GENERIC = "generic"

    @property
    def label(self) -> str:
        return {
            Category.MONITORING: "Monitoring",
            Category.CLOUD: "Cloud",
            Category.TICKETING: "Ticketing",
            Category.GENERIC: "Generic",
        }[self]


class Capability(StrEnum):
    PUSH_WEBHOOK = "push-webhook"
    BIDIRECTIONAL = "bi-directional"
    OAUTH = "oauth"
    API_TOKEN = "api-token"  # noqa: S105 - a capability name, not a secret
    SIGNED = "signed"

    @property
    def label(self) -> str:
        return {
            Capability.PUSH_WEBHOOK: "Push webhook",
            Capability.BIDIRECTIONAL: "Bi-directional",
            Capability.OAUTH: "OAuth 2.0",
            Capability.API_TOKEN: "API token",
            Capability.SIGNED: "Signed requests",
        }[self]


@dataclass(frozen=True)
class Logo:
    """Either a simple-icons mark (`icon`, drawn in its brand colour) or a neutral tile showing `letters`."""

    letters: str
    icon: str | None = None
    colour: str = "#3d4451"
    licence: str = "lettered tile (no third-party mark)"

    def svg_path(self) -> str | None:
        return _icon_path(self.icon) if self.icon else None


SIMPLE_ICONS = "simple-icons 16.37.0, CC0-1.0"
LOGOS: dict[IntegrationType, Logo] = {
    IntegrationType.ALERTMANAGER: Logo("AM", "prometheus", "#c2401c", SIMPLE_ICONS),
    IntegrationType.GRAFANA: Logo("GF", "grafana", "#b34d00", SIMPLE_ICONS),
    IntegrationType.AWS_CLOUDWATCH: Logo("AWS"),
    IntegrationType.AZURE_MONITOR: Logo("Az"),
    IntegrationType.GCP_MONITORING: Logo("GC", "googlecloud", "#1a63d8", SIMPLE_ICONS),
    IntegrationType.GENERIC_WEBHOOK: Logo("{ }"),
    IntegrationType.JIRA: Logo("J", "jira", "#0052cc", SIMPLE_ICONS),
    IntegrationType.SERVICENOW: Logo("SN"),
    IntegrationType.EVENTS_API: Logo("EV"),
}
"""The one place that decides how each type is drawn. Brand colours are darkened where needed for 4.5:1 contrast."""


@dataclass(frozen=True)
class CatalogEntry:
    type: IntegrationType
    name: str
    description: str
    category: Category
    capabilities: tuple[Capability, ...]
    aliases: tuple[str, ...] = ()

    @property
    def logo(self) -> Logo:
        return LOGOS[self.type]

    @property
    def slug(self) -> str:
        return self.type.value

    def matches(self, query: str) -> bool:
        """Every word of `query` appears in the name, an alias or the description (case-insensitive)."""
        haystack = " ".join((self.name, *self.aliases, self.description, self.type.value)).lower()
        return all(word in haystack for word in query.lower().split())


PUSH, BOTH_WAYS, OAUTH, TOKEN, SIGNED = (
    Capability.PUSH_WEBHOOK,
    Capability.BIDIRECTIONAL,
    Capability.OAUTH,
    Capability.API_TOKEN,
    Capability.SIGNED,
)
CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        IntegrationType.ALERTMANAGER,
        "Prometheus Alertmanager",
        "Alert groups from Alertmanager's webhook receiver, directly or through the in-cluster webhook.",
        Category.MONITORING,
        (PUSH,),
        ("prometheus", "kubernetes", "k8s", "alertmanager"),
    ),
    CatalogEntry(
        IntegrationType.GRAFANA,
        "Grafana",
        "Grafana Alerting contact point of type webhook, optionally signed with HMAC-SHA256.",
        Category.MONITORING,
        (PUSH, SIGNED),
        ("grafana cloud", "unified alerting", "loki", "mimir"),
    ),
    CatalogEntry(
        IntegrationType.AWS_CLOUDWATCH,
        "Amazon CloudWatch",
        "CloudWatch alarms delivered by an Amazon SNS HTTPS subscription; signatures are verified.",
        Category.CLOUD,
        (PUSH, SIGNED),
        ("aws", "amazon", "sns", "eventbridge"),
    ),
    CatalogEntry(
        IntegrationType.AZURE_MONITOR,
        "Azure Monitor",
        "Azure Monitor alerts from an action group webhook using the common alert schema.",
        Category.CLOUD,
        (PUSH,),
        ("azure", "microsoft", "action group", "log analytics"),
    ),
    CatalogEntry(
        IntegrationType.GCP_MONITORING,
        "Google Cloud Monitoring",
        "Incidents from a Cloud Monitoring webhook notification channel (token or Basic auth).",
        Category.CLOUD,
        (PUSH,),
        ("gcp", "google", "stackdriver", "cloud monitoring"),
    ),
    CatalogEntry(
        IntegrationType.GENERIC_WEBHOOK,
        "Generic webhook",
        "Any tool that can POST JSON: map its fields to summary, severity, status and dedup key.",
        Category.GENERIC,
        (PUSH,),
        ("http", "json", "custom", "curl"),
    ),
    CatalogEntry(
        IntegrationType.EVENTS_API,
        "Events API",
        "PagerDuty Events v2 compatible endpoint: send trigger, acknowledge and resolve with an integration key.",
        Category.GENERIC,
        (TOKEN,),
        ("pagerduty", "events v2", "enqueue"),
    ),
    CatalogEntry(
        IntegrationType.JIRA,
        "Jira Cloud",
        "Open a Jira issue for an alert group and resolve the alert when the issue is done.",
        Category.TICKETING,
        (BOTH_WAYS, OAUTH, TOKEN),
        ("atlassian", "tickets", "issues", "jira software"),
    ),
    CatalogEntry(
        IntegrationType.SERVICENOW,
        "ServiceNow",
        "Open a ServiceNow incident for an alert group and resolve the alert when the incident is resolved.",
        Category.TICKETING,
        (BOTH_WAYS, TOKEN),
        ("itsm", "incident", "snow", "tickets"),
    ),
)
BY_TYPE = {entry.type.value: entry for entry in CATALOG}


def search(query: str = "", category: str | None = None) -> list[CatalogEntry]:
    return [entry for entry in CATALOG if entry.matches(query) and (not category or entry.category.value == category)]


_PATH = re.compile(r'<path d="([^"]+)"')


@cache
def _icon_path(icon: str) -> str:
    """The single path of a vendored simple-icons SVG (drawn inline with our own colour and no title)."""
    svg = resources.files("signalcraft.server.ui").joinpath("static", "logos", f"{icon}.svg").read_text()
    match = _PATH.search(svg)
    if match is None:
        raise ValueError(f"{icon}.svg has no single path")
    return match.group(1)
