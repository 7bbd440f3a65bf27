"""What the setup wizard asks per integration type, and how the answers become an integration write.

Settings go to the spec under the type's key, credentials to the write-only `credentials` (never shown again). The
spec model of the API contract validates the result, so the wizard cannot create what the API would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from signalcraft.api.specs import IntegrationType

SEVERITIES = (("", "From the payload"), ("critical", "critical"), ("error", "error"), ("warning", "warning"))


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    where: Literal["spec", "credentials"] = "spec"
    input: str = "text"
    required: bool = False
    default: str = ""
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    is_list: bool = False
    only_when: tuple[str, str] | None = None
    """(other setting, value): this one applies only when the other has that value (GCP's Basic auth fields)."""


SETTINGS: dict[IntegrationType, tuple[Setting, ...]] = {
    IntegrationType.ALERTMANAGER: (
        Setting("default_severity", "Severity when an alert has no severity label", choices=SEVERITIES),
    ),
    IntegrationType.GRAFANA: (
        Setting(
            "hmac_secret",
            "HMAC secret",
            "credentials",
            "password",
            help="The same secret goes into the contact point's HMAC signature setting; leave empty for none.",
        ),
    ),
    IntegrationType.AWS_CLOUDWATCH: (
        Setting(
            "allowed_topic_arns",
            "Allowed SNS topic ARNs",
            is_list=True,
            help="Comma-separated; empty accepts any topic whose messages AWS signed.",
        ),
    ),
    IntegrationType.AZURE_MONITOR: (),
    IntegrationType.GCP_MONITORING: (
        Setting(
            "auth",
            "How Cloud Monitoring authenticates",
            default="token",
            choices=(("token", "Token in the URL (webhook_tokenauth)"), ("basic", "HTTP Basic (webhook_basicauth)")),
        ),
        Setting("basic_username", "Basic auth user name", "credentials", only_when=("auth", "basic")),
        Setting("basic_password", "Basic auth password", "credentials", "password", only_when=("auth", "basic")),
    ),
    IntegrationType.GENERIC_WEBHOOK: (
        Setting("summary_field", "Field holding the summary", default="summary", required=True),
        Setting("severity_field", "Field holding the severity", help="A dotted path such as labels.severity."),
        Setting("status_field", "Field holding firing/resolved"),
        Setting("dedup_key_field", "Field holding the deduplication key"),
    ),
    IntegrationType.EVENTS_API: (),
    IntegrationType.JIRA: (
        Setting(
            "base_url",
            "Jira site URL",
            input="url",
            required=True,
            help="https://your-site.atlassian.net (used for links and for API-token auth).",
        ),
        Setting("project_key", "Project key", required=True, default="OPS"),
        Setting("issue_type", "Issue type", default="Bug"),
        Setting(
            "email",
            "Atlassian account email (API-token auth)",
            "credentials",
            "email",
            help="Leave email and API token empty to connect with OAuth 2.0 after creating.",
        ),
        Setting("api_token", "API token", "credentials", "password"),
        Setting(
            "webhook_secret",
            "Webhook secret (incoming issue updates)",
            "credentials",
            "password",
            help="The secret of the Jira admin webhook; requests are then checked with X-Hub-Signature.",
        ),
    ),
    IntegrationType.SERVICENOW: (
        Setting(
            "instance_url", "Instance URL", input="url", required=True, help="https://your-instance.service-now.com"
        ),
        Setting("assignment_group", "Assignment group"),
        Setting("username", "Integration user", "credentials"),
        Setting("password", "Integration user's password", "credentials", "password"),
        Setting(
            "webhook_secret",
            "Shared secret of the outbound REST message",
            "credentials",
            "password",
            help="Sent back as X-Hub-Signature by the business rule that notifies SignalCraft.",
        ),
    ),
}


@dataclass
class WizardAnswers:
    spec: dict[str, Any]
    credentials: dict[str, str] = field(default_factory=dict)
    display_name: str | None = None


def answers(kind: IntegrationType, form: Mapping[str, str]) -> WizardAnswers:
    """The integration write a submitted wizard form asks for (validated later by the API's own models)."""
    settings: dict[str, Any] = {}
    credentials: dict[str, str] = {}
    for setting in SETTINGS[kind]:
        value = form.get(setting.key, "").strip()
        if setting.only_when is not None and form.get(setting.only_when[0], "") != setting.only_when[1]:
            continue
        if not value:
            continue
        if setting.where == "credentials":
            credentials[setting.key] = value
        elif setting.is_list:
            settings[setting.key] = [item.strip() for item in value.split(",") if item.strip()]
        else:
            settings[setting.key] = value
    spec: dict[str, Any] = {"type": kind.value}
    if settings or kind in (IntegrationType.JIRA, IntegrationType.SERVICENOW):
        spec[kind.value.replace("-", "_")] = settings
    display = form.get("display_name", "").strip() or None
    return WizardAnswers(spec, credentials, display)
