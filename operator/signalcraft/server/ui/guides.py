"""Numbered setup steps per integration type, generated from the integration itself: its real webhook URL, token,
settings and name are filled in, so what the page shows can be pasted as it is.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from signalcraft.api.specs import IntegrationType


@dataclass(frozen=True)
class Step:
    title: str
    text: str = ""
    code: str | None = None
    code_label: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    steps: tuple[Step, ...]
    intro: str = ""


@dataclass(frozen=True)
class Target:
    """What the steps need to know about the integration being set up."""

    name: str
    type: IntegrationType
    webhook_url: str
    token: str
    integration_key: str
    base_url: str
    settings: dict[str, Any] = field(default_factory=dict)
    credentials_set: tuple[str, ...] = ()

    @property
    def url_without_token(self) -> str:
        return self.webhook_url.rsplit("/", 1)[0]


def _yaml_quote(value: str) -> str:
    return json.dumps(value)


def alertmanager(t: Target) -> list[Section]:
    receiver = f"""route:
  receiver: signalcraft
  group_by: [alertname, namespace]
receivers:
  - name: signalcraft
    webhook_configs:
      - url: {_yaml_quote(t.webhook_url)}
        send_resolved: true
        max_alerts: 0"""
    helm = f"""# values.yaml of the signalcraft-operator chart: the in-cluster webhook receives from Alertmanager,
# keeps alerts in its spool while the API is unreachable, and forwards them to integration {t.name!r}.
api:
  url: {_yaml_quote(t.base_url)}
webhook:
  enabled: true
  integration: {_yaml_quote(t.name)}
  apiKeySecret: {{name: signalcraft-webhook-api-key, key: api-key}}   # a key with scope events:write
  tokenSecret: {{name: signalcraft-webhook-token, key: token}}        # what Alertmanager presents
  alertmanagerConfig:
    enabled: true"""
    secrets = """kubectl create secret generic signalcraft-webhook-api-key \\
  --from-literal=api-key=<API key with events:write>
kubectl create secret generic signalcraft-webhook-token --from-literal=token="$(openssl rand -hex 24)"
helm upgrade --install sc ./helm/signalcraft-operator -f values.yaml"""
    return [
        Section(
            "Directly from Alertmanager",
            (
                Step(
                    "Add a webhook receiver to alertmanager.yml",
                    "Route the alerts you want in SignalCraft to this receiver (here: all of them). The token is part "
                    "of the URL, so the file is a secret: keep it out of public repositories.",
                    receiver,
                    "alertmanager.yml",
                ),
                Step(
                    "Reload Alertmanager",
                    "Alertmanager re-reads its configuration on SIGHUP or on a POST to /-/reload.",
                    "curl -X POST http://localhost:9093/-/reload",
                    "shell",
                ),
                Step("Wait for the first alert", "The status on this page turns to connected when it arrives."),
            ),
        ),
        Section(
            "Or through the in-cluster webhook (Helm)",
            (
                Step("Create the two Secrets and install the chart", "", secrets, "shell"),
                Step("Values for the chart", "", helm, "values.yaml"),
            ),
            "Alertmanager then sends to the webhook inside the cluster, which acknowledges only once an alert is on "
            "disk and delivers it here with retries.",
        ),
    ]


def grafana(t: Target) -> list[Section]:
    hmac_set = "hmac_secret" in t.credentials_set
    steps = [
        Step("In Grafana, open Alerting → Contact points → Add contact point"),
        Step("Choose the integration type Webhook and paste the URL", "", t.webhook_url, "URL"),
        Step("Method POST; leave the authorization fields empty (the token is in the URL)"),
    ]
    if hmac_set:
        steps.append(
            Step(
                "Under Optional Webhook settings → HMAC signature, enter the HMAC secret you gave here",
                "Keep the header X-Grafana-Alerting-Signature and the timestamp header X-Grafana-Alerting-Timestamp.",
            )
        )
    else:
        steps.append(
            Step(
                "Optional: sign requests with HMAC",
                "Set an HMAC secret on this integration (via the API or the operator) and the same secret under "
                "Optional Webhook settings → HMAC signature; requests without a valid signature are then refused.",
            )
        )
    steps += [
        Step("Use Test on the contact point, then Save", "Grafana sends a test notification; it shows up below."),
        Step("Point a notification policy at the contact point"),
    ]
    return [Section("Grafana contact point", tuple(steps))]


def aws_cloudwatch(t: Target) -> list[Section]:
    cli = f"""aws sns subscribe \\
  --topic-arn arn:aws:sns:<region>:<account>:<topic> \\
  --protocol https \\
  --notification-endpoint {shlex.quote(t.webhook_url)}
aws cloudwatch put-metric-alarm --alarm-name <alarm> ... \\
  --alarm-actions arn:aws:sns:<region>:<account>:<topic> --ok-actions arn:aws:sns:<region>:<account>:<topic>"""
    return [
        Section(
            "AWS console",
            (
                Step("Open Amazon SNS → Topics, and select (or create) the topic your CloudWatch alarms notify"),
                Step("Create subscription: protocol HTTPS, endpoint", "", t.webhook_url, "Endpoint"),
                Step(
                    "Leave raw message delivery off",
                    "SignalCraft verifies each message's SNS signature and confirms the subscription itself; the "
                    "subscription shows Confirmed within a few seconds.",
                ),
                Step(
                    "In CloudWatch, add the topic to the alarm's In alarm and OK actions",
                    "OK notifications resolve the alert.",
                ),
            ),
        ),
        Section("AWS CLI", (Step("Subscribe the endpoint and point an alarm at the topic", "", cli, "shell"),)),
    ]


def azure_monitor(t: Target) -> list[Section]:
    return [
        Section(
            "Azure action group",
            (
                Step("In the Azure portal, open Monitor → Alerts → Action groups → Create (or edit one)"),
                Step("Under Actions, add an action of type Webhook and paste the URI", "", t.webhook_url, "URI"),
                Step(
                    "Set Enable the common alert schema to Yes",
                    "SignalCraft reads the common alert schema only; other shapes are refused with a reason.",
                ),
                Step("Attach the action group to your alert rules, then use Test action group → Sample alert"),
            ),
        ),
        Section(
            "Azure CLI",
            (
                Step(
                    "Create the action group with the webhook receiver",
                    "",
                    "az monitor action-group create --resource-group <group> --name signalcraft \\\n"
                    f"  --action webhook signalcraft {shlex.quote(t.webhook_url)} usecommonalertschema",
                    "shell",
                ),
            ),
        ),
    ]


def gcp_monitoring(t: Target) -> list[Section]:
    basic = t.settings.get("auth") == "basic"
    auth_steps: tuple[Step, ...]
    if basic:
        url = t.url_without_token
        auth_steps = (
            Step("Choose Webhooks with HTTP Basic auth (webhook_basicauth) and paste the endpoint URL", "", url, "URL"),
            Step("Enter the user name and password you gave this integration"),
        )
        cli = (
            "gcloud beta monitoring channels create --display-name=SignalCraft --type=webhook_basicauth \\\n"
            f"  --channel-labels=url={url},username=<user> --sensitive-labels=password=<password>"
        )
    else:
        url = f"{t.url_without_token}?auth_token={t.token}"
        auth_steps = (
            Step(
                "Choose Webhooks (webhook_tokenauth) and paste the endpoint URL",
                "Cloud Monitoring cannot send headers, so the token travels in the URL's auth_token parameter.",
                url,
                "URL",
            ),
        )
        cli = (
            "gcloud beta monitoring channels create --display-name=SignalCraft --type=webhook_tokenauth \\\n"
            f"  --channel-labels=url={shlex.quote(url)}"
        )
    return [
        Section(
            "Cloud Monitoring notification channel",
            (
                Step("In the Google Cloud console, open Monitoring → Alerting → Edit notification channels"),
                *auth_steps,
                Step("Test connection, save, and add the channel to your alerting policies"),
            ),
        ),
        Section("gcloud", (Step("Create the channel from the command line", "", cli, "shell"),)),
    ]


def generic_webhook(t: Target) -> list[Section]:
    mapping = {
        "summary": t.settings.get("summary_field", "summary"),
        "severity": t.settings.get("severity_field") or "(none: error)",
        "status (firing / resolved)": t.settings.get("status_field") or "(none: always firing)",
        "deduplication key": t.settings.get("dedup_key_field") or "(none: a hash of the body)",
    }
    table = "\n".join(f"{what:<28} ← {field}" for what, field in mapping.items())
    return [
        Section(
            "Any tool that can POST JSON",
            (
                Step("Send a POST with a JSON body to", "", t.webhook_url, "URL"),
                Step(
                    "Or keep the token out of the URL",
                    "The same token works as a bearer token, so tools that hide headers can use the bare URL.",
                    f"curl -X POST {shlex.quote(t.url_without_token)} \\\n"
                    f"  -H 'Authorization: Bearer {t.token}' -H 'Content-Type: application/json' -d @alert.json",
                    "shell",
                ),
                Step(
                    "How the fields of your JSON are read",
                    "Dotted paths pick nested fields (labels.severity). Change the mapping through the API.",
                    table,
                    "field mapping",
                ),
            ),
        )
    ]


def events_api(t: Target) -> list[Section]:
    body = json.dumps(
        {
            "routing_key": t.integration_key,
            "event_action": "trigger",
            "dedup_key": "disk-full-web-1",
            "payload": {"summary": "Disk full on web-1", "source": "web-1", "severity": "critical"},
        },
        indent=2,
    )
    return [
        Section(
            "PagerDuty Events v2 compatible",
            (
                Step("Use the integration key as routing_key", "", t.integration_key, "integration key"),
                Step(
                    "Send events to /v2/enqueue (or /v1/events)",
                    "Tools with a PagerDuty integration only need this URL instead of PagerDuty's.",
                    f"curl -X POST {shlex.quote(t.base_url + '/v2/enqueue')} -H 'Content-Type: application/json' \\\n"
                    f"  -d {shlex.quote(body)}",
                    "shell",
                ),
            ),
        )
    ]


def jira(t: Target) -> list[Section]:
    site = str(t.settings.get("base_url", "https://your-site.atlassian.net")).rstrip("/")
    project = t.settings.get("project_key", "OPS")
    oauth = "oauth_refresh_token" in t.credentials_set
    token = "api_token" in t.credentials_set
    how = (
        "Connected with OAuth 2.0: tickets are created as the Atlassian account that granted access."
        if oauth
        else "Connected with an API token."
        if token
        else "Not connected yet: use Connect Jira (OAuth 2.0) below, or give an email and API token through the API."
    )
    return [
        Section(
            "Outgoing: SignalCraft opens and resolves Jira issues",
            (
                Step("Connect SignalCraft to Jira", how),
                Step(
                    f"Check that project {project} exists on {site} and has the issue type "
                    f"{t.settings.get('issue_type', 'Bug')}",
                    f"Alert groups of severity {t.settings.get('auto_create_severity', 'critical')} open an issue; "
                    "resolving the group moves it with the transition "
                    f"{t.settings.get('resolve_transition', 'Done')!r}.",
                ),
            ),
        ),
        Section(
            "Incoming: a done issue resolves its alert",
            (
                Step(f"In Jira, open Settings → System → WebHooks ({site}/plugins/servlet/webhooks) → Create"),
                Step("Paste the URL", "", t.webhook_url, "URL"),
                Step(
                    "Select the event Issue → updated, optionally with JQL: labels = signalcraft",
                    "Set a secret on the webhook and give the same secret to this integration as webhook_secret: "
                    "deliveries are then checked with their X-Hub-Signature.",
                ),
            ),
        ),
    ]


def servicenow(t: Target) -> list[Section]:
    instance = str(t.settings.get("instance_url", "https://your-instance.service-now.com")).rstrip("/")
    script = f"""(function executeRule(current, previous) {{
    var r = new sn_ws.RESTMessageV2();
    r.setEndpoint({json.dumps(t.webhook_url)});
    r.setHttpMethod('POST');
    r.setRequestHeader('Content-Type', 'application/json');
    r.setRequestBody(JSON.stringify({{
        sys_id: current.getValue('sys_id'), number: current.getValue('number'),
        state: current.getValue('state'), correlation_id: current.getValue('correlation_id')
    }}));
    r.executeAsync();
}})(current, previous);"""
    return [
        Section(
            "Outgoing: SignalCraft opens and resolves incidents",
            (
                Step(
                    f"Create an integration user on {instance} with the role itil",
                    "Give its user name and password to this integration (they are stored write-only).",
                ),
                Step(
                    "Incidents are created through the Table API",
                    "",
                    f"POST {instance}/api/now/table/incident",
                    "endpoint",
                ),
            ),
        ),
        Section(
            "Incoming: a resolved incident resolves its alert",
            (
                Step(
                    "Create a Business Rule on the Incident table",
                    "When: after update; Filter: State changes; Advanced: yes.",
                ),
                Step("Script of the rule", "", script, "Business Rule script"),
            ),
        ),
    ]


GUIDES = {
    IntegrationType.ALERTMANAGER: alertmanager,
    IntegrationType.GRAFANA: grafana,
    IntegrationType.AWS_CLOUDWATCH: aws_cloudwatch,
    IntegrationType.AZURE_MONITOR: azure_monitor,
    IntegrationType.GCP_MONITORING: gcp_monitoring,
    IntegrationType.GENERIC_WEBHOOK: generic_webhook,
    IntegrationType.EVENTS_API: events_api,
    IntegrationType.JIRA: jira,
    IntegrationType.SERVICENOW: servicenow,
}


def sections(target: Target) -> list[Section]:
    return GUIDES[target.type](target)


def host_of(url: str) -> str:
    return urlsplit(url).netloc
