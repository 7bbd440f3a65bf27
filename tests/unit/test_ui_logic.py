"""The UI's pure parts: catalog search, the logo table, every example payload parsed by its own source strategy, guides
carrying the real URL, roles as API scopes, password hashing, OAuth helpers, and the session cookie's flags over TLS."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from signalcraft.api.specs import IntegrationType
from signalcraft.ingest.sources.base import InboundRequest
from signalcraft.ingest.sources.registry import ALERT_SOURCE_NAMES, get_strategy
from signalcraft.server import atlassian
from signalcraft.server.app import create_app
from signalcraft.server.ui import catalog, examples, guides, people, wizard
from signalcraft.server.ui.web import HTMX_FILE, HTMX_SHA256, static_root


def test_every_type_is_in_the_catalog_once_with_a_logo_decision() -> None:
    assert sorted(entry.type.value for entry in catalog.CATALOG) == sorted(t.value for t in IntegrationType)
    assert set(catalog.LOGOS) == set(IntegrationType)
    drawn = {t.value for t, logo in catalog.LOGOS.items() if logo.icon}
    assert drawn == {"alertmanager", "grafana", "gcp-monitoring", "jira"}  # the CC0 simple-icons marks
    for kind in ("aws-cloudwatch", "azure-monitor", "servicenow"):
        assert catalog.LOGOS[IntegrationType(kind)].icon is None
    for entry in catalog.CATALOG:
        path = entry.logo.svg_path()
        assert path is None or path.startswith("M")


def test_search_matches_name_alias_and_description_and_combines_with_category() -> None:
    def found(query: str, category: str | None = None) -> set[str]:
        return {entry.slug for entry in catalog.search(query, category)}

    assert found("sns") == {"aws-cloudwatch"}
    assert found("PROMETHEUS") == {"alertmanager"}
    assert found("common alert schema") == {"azure-monitor"}
    assert found("ticket") == {"jira", "servicenow"}
    assert found("", "cloud") == {"aws-cloudwatch", "azure-monitor", "gcp-monitoring"}
    assert found("google", "ticketing") == set()
    assert found("nothing-like-this") == set()


@pytest.mark.parametrize("source", [s for s in ALERT_SOURCE_NAMES if s != "aws-cloudwatch"])
def test_each_example_payload_parses_with_its_source_strategy(source: str) -> None:
    kind = IntegrationType(source)
    settings = {"summary_field": "alert.title", "severity_field": "alert.level", "status_field": "state"}
    payload = examples.payload(kind, settings if source == "generic-webhook" else {})
    assert payload is not None
    body = json.dumps(payload).encode()
    events = get_strategy(source, settings).parse(InboundRequest({"content-type": "application/json"}, body, {}), "x")
    assert events
    assert examples.SUMMARY in events[0].summary or events[0].summary == "SignalCraftTest"  # Azure: the rule name


def test_types_without_a_browser_test_alert_say_why() -> None:
    for kind in (IntegrationType.AWS_CLOUDWATCH, IntegrationType.JIRA, IntegrationType.SERVICENOW):
        assert examples.payload(kind, {}) is None
        assert kind in examples.NOT_TESTABLE


def test_curl_quotes_the_body_for_a_shell() -> None:
    command = examples.curl("http://h/x", """{"a": "it's"}""")
    assert command.startswith("curl -X POST 'http://h/x'")
    assert """'{"a": "it'\\''s"}'""" in command


def test_guides_fill_in_the_real_url_for_every_type() -> None:
    for kind in IntegrationType:
        url = f"https://sc.example/api/v1/webhooks/{kind.value}/tok123"
        target = guides.Target("n", kind, url, "tok123", "key456", "https://sc.example", {}, ())
        text = json.dumps(
            [[s.title, [[st.title, st.text, st.code] for st in s.steps]] for s in guides.sections(target)]
        )
        assert ("key456" if kind is IntegrationType.EVENTS_API else "tok123") in text, kind
    basic = guides.Target(
        "n", IntegrationType.GCP_MONITORING, "https://h/x/tok", "tok", "k", "https://h", {"auth": "basic"}
    )
    assert "webhook_basicauth" in json.dumps([[st.title, st.code] for s in guides.sections(basic) for st in s.steps])
    jira = guides.Target(
        "n", IntegrationType.JIRA, "https://h/x/tok", "tok", "k", "https://h", {"base_url": "https://a"}
    )
    assert [s.title.split(":")[0] for s in guides.sections(jira)] == ["Outgoing", "Incoming"]


def test_wizard_answers_split_settings_and_credentials() -> None:
    answers = wizard.answers(
        IntegrationType.GCP_MONITORING, {"auth": "basic", "basic_username": "u", "basic_password": "p"}
    )
    assert answers.spec == {"type": "gcp-monitoring", "gcp_monitoring": {"auth": "basic"}}
    assert answers.credentials == {"basic_username": "u", "basic_password": "p"}
    token = wizard.answers(IntegrationType.GCP_MONITORING, {"auth": "token", "basic_username": "ignored"})
    assert token.credentials == {}
    arns = wizard.answers(IntegrationType.AWS_CLOUDWATCH, {"allowed_topic_arns": "arn:a, arn:b,"})
    assert arns.spec["aws_cloudwatch"] == {"allowed_topic_arns": ["arn:a", "arn:b"]}


def test_roles_are_api_scopes() -> None:
    from signalcraft.server.auth import Principal

    def principal(role: str) -> Principal:
        return Principal("user:x", "user:x", "session", people.ROLE_SCOPES[role])

    assert principal("owner").allows("integrations", "manage_force")
    assert principal("admin").allows("integrations", "write")
    assert principal("admin").allows("integrations", "read_secrets")
    assert not principal("admin").allows("integrations", "manage")
    assert not principal("responder").allows("integrations", "write")
    assert principal("responder").allows("alert_groups", "write")
    assert not principal("observer").allows("alert_groups", "write")
    assert not principal("observer").allows("integrations", "read_secrets")


def test_passwords_are_argon2_and_verify_in_constant_work() -> None:
    stored = people.hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert people.verify_password(stored, "correct horse battery staple")
    assert not people.verify_password(stored, "wrong")
    assert not people.verify_password(None, "anything")
    assert not people.verify_password("not a hash", "anything")
    assert people.password_problem("short", "a@b.c") is not None
    assert people.password_problem("a@b.example.com", "A@B.example.com") is not None
    assert people.password_problem("long enough password", "a@b.c") is None


def test_pkce_pair_and_authorize_url() -> None:
    verifier, challenge = atlassian.pkce_pair()
    assert 43 <= len(verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == expected
    app = atlassian.OAuthApp("id", "secret", auth_url="https://auth.example")
    url = app.authorize_url(redirect_uri="https://sc/cb", state="st", code_challenge=challenge)
    assert url.startswith("https://auth.example/authorize?audience=api.atlassian.com&client_id=id")
    assert "offline_access" in url
    assert "code_challenge_method=S256" in url
    assert app.jira_base("cid") == "https://api.atlassian.com/ex/jira/cid"


def test_refresh_is_due_before_expiry() -> None:
    now = time.time()
    assert not atlassian.needs_refresh({"api_token": "t"})
    fresh = {"oauth_refresh_token": "r", "oauth_token": "a", "oauth_expires_at": str(int(now + 3600))}
    assert not atlassian.needs_refresh(fresh, now)
    assert atlassian.needs_refresh({**fresh, "oauth_expires_at": str(int(now + 60))}, now)
    assert atlassian.needs_refresh({**fresh, "oauth_token": ""}, now)


def test_vendored_htmx_has_the_checked_hash() -> None:
    data = Path(static_root(), HTMX_FILE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == HTMX_SHA256


def test_cookies_are_secure_over_tls(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "db.sqlite"), base_url="https://sc.example") as client:
        page = client.get("/ui/login")
        assert "secure" in page.headers["set-cookie"].lower()
        assert "httponly" in page.headers["set-cookie"].lower()
        assert "samesite=strict" in page.headers["set-cookie"].lower()
    with TestClient(create_app(tmp_path / "db2.sqlite"), base_url="http://sc.example") as client:
        assert "secure" not in client.get("/ui/login").headers["set-cookie"].lower()
