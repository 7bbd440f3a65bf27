"""Connect Jira by OAuth 2.0 (3LO) in a real browser, against a stand-in for Atlassian that follows its published
contract: authorize (state, PKCE S256, consent), code exchange, accessible-resources for the cloud id, then tickets
through /ex/jira/<cloud id> with the bearer token, refreshed before expiry with rotating refresh tokens."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import BrowserPage, Person
from tests.support.api_server import ApiServer, running_api_server
from tests.support.processes import wait_until
from tests.support.ticketing import FakeAtlassian, FakeJira, serving

EXPIRES_IN = 120
"""Shorter than the server's refresh margin, so every outbound call first refreshes (and rotates) the grant."""


@pytest.fixture(scope="module")
def atlassian() -> Iterator[FakeAtlassian]:
    with serving(FakeJira()) as jira, serving(FakeAtlassian(jira, expires_in=EXPIRES_IN)) as fake:
        yield fake


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, atlassian: FakeAtlassian) -> Iterator[ApiServer]:
    workdir = tmp_path_factory.mktemp("api-oauth")
    secret = Path(workdir, "oauth-secret")
    secret.write_text(atlassian.client_secret + "\n")
    args = [
        "--jira-oauth-client-id",
        atlassian.client_id,
        "--jira-oauth-client-secret-file",
        str(secret),
        "--atlassian-auth-url",
        atlassian.url,
        "--atlassian-api-url",
        atlassian.url,
    ]
    with running_api_server(workdir, args) as server:
        atlassian.redirect_uris.add(f"{server.url}/ui/oauth/jira/callback")
        yield server


def fire_critical(api: ApiServer, integration: str, alert: str) -> str:
    event = {
        "source": "alertmanager",
        "integration": integration,
        "group_key": alert,
        "dedup_key": alert,
        "status": "firing",
        "severity": "critical",
        "summary": f"{alert} on fire",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    with api.client() as admin:
        response = admin.post("/v1/alert-events", json={"events": [event]})
        response.raise_for_status()
        group: str = response.json()["alert_groups"][0]
        return group


def ticket(api: ApiServer, group: str, integration: str) -> dict[str, str]:
    with api.client() as admin:
        found: dict[str, str] = (admin.get(f"/v1/alert-groups/{group}").json()["ticket"] or {}).get(integration, {})
        return found


def test_connect_jira_with_oauth_then_tickets_use_the_bearer_token(
    web: BrowserPage, api: ApiServer, atlassian: FakeAtlassian, owner: Person
) -> None:
    name = f"jira-{uuid.uuid4().hex[:6]}"
    web.goto("/ui/integrations/new/jira")
    web.page.locator("#name").fill(name)
    web.page.get_by_label("Jira site URL").fill(atlassian.site_url)
    web.page.get_by_label("Project key").fill("OPS")
    web.page.get_by_role("button", name="Create integration").click()
    expect(web.page.locator("ol.steps").first).to_contain_text("Not connected yet")
    web.check_accessibility("a Jira integration before connecting")
    # Connect: our server sends the browser to Atlassian's consent screen with state and PKCE
    web.page.get_by_role("button", name="Connect Jira (OAuth 2.0)").click()
    expect(web.page.get_by_role("heading", name=re.compile("requesting access"))).to_be_visible()
    asked = atlassian.authorize_requests[-1]
    assert asked["audience"] == "api.atlassian.com"
    assert asked["code_challenge_method"] == "S256"
    assert len(asked["state"]) >= 32
    assert set(asked["scope"].split()) >= {"read:jira-work", "write:jira-work", "offline_access"}
    assert asked["prompt"] == "consent"
    web.page.get_by_role("button", name="Accept").click()
    expect(web.page.get_by_role("status").filter(has_text="Jira connected with OAuth 2.0")).to_contain_text(
        atlassian.cloud_id
    )
    expect(web.page.locator("ol.steps").first).to_contain_text("Connected with OAuth 2.0")
    web.check_accessibility("a Jira integration connected by OAuth")
    exchange = next(r for r in atlassian.token_requests if r["grant_type"] == "authorization_code")
    assert exchange["redirect_uri"] == f"{api.url}/ui/oauth/jira/callback"
    assert exchange["code_verifier"]  # checked against the challenge by the stand-in
    # the tokens are write-only: the API shows which credentials are set, never their values
    with api.client() as admin:
        integration = admin.get(f"/v1/integrations/{name}").json()
    assert {"oauth_token", "oauth_refresh_token", "oauth_cloud_id"} <= set(integration["status"]["credentials_set"])
    assert atlassian.cloud_id not in str(integration)
    # a critical alert opens a ticket through Atlassian's gateway with the bearer token, refreshed first
    calls_before = atlassian.jira.bearer_calls
    first = fire_critical(api, name, f"db-{uuid.uuid4().hex[:6]}")
    wait_until(lambda: ticket(api, first, name).get("key"), timeout=20, what="the first Jira ticket")
    assert atlassian.jira.bearer_calls > calls_before
    assert ticket(api, first, name)["url"].startswith(atlassian.site_url)
    refreshes = [r for r in atlassian.token_requests if r["grant_type"] == "refresh_token"]
    assert refreshes, "the access token expires within the refresh margin: the worker refreshes before calling"
    # rotation: each refresh disabled the token it used, and the next refresh used the new one
    second = fire_critical(api, name, f"web-{uuid.uuid4().hex[:6]}")
    wait_until(lambda: ticket(api, second, name).get("key"), timeout=20, what="the second Jira ticket")
    used = [r["refresh_token"] for r in atlassian.token_requests if r["grant_type"] == "refresh_token"]
    assert len(used) >= 2
    assert len(set(used)) == len(used), "a refresh token is never used twice"
    assert all(atlassian.refresh_tokens[token] is False for token in used)


def test_denied_consent_and_a_forged_callback(
    web: BrowserPage, api: ApiServer, atlassian: FakeAtlassian, owner: Person
) -> None:
    name = f"jira-{uuid.uuid4().hex[:6]}"
    web.goto("/ui/integrations/new/jira")
    web.page.locator("#name").fill(name)
    web.page.get_by_label("Jira site URL").fill(atlassian.site_url)
    web.page.get_by_role("button", name="Create integration").click()
    web.page.get_by_role("button", name="Connect Jira (OAuth 2.0)").click()
    web.page.get_by_role("button", name="Deny").click()
    expect(web.page.get_by_role("status").filter(has_text="Jira was not connected")).to_contain_text(
        "User did not authorize the request"
    )
    # a callback whose state this browser did not start is refused (CSRF on the OAuth flow)
    web.page.get_by_role("button", name="Connect Jira (OAuth 2.0)").click()
    expect(web.page.get_by_role("button", name="Accept")).to_be_visible()
    state = parse_qs(urlsplit(web.page.url).query)["state"][0]
    web.goto(f"/ui/oauth/jira/callback?code=stolen&state={state[::-1]}")
    expect(web.page.get_by_role("heading", name="The form could not be accepted")).to_be_visible()
    with api.client() as admin:
        status = admin.get(f"/v1/integrations/{name}").json()["status"]
    assert "oauth_refresh_token" not in status.get("credentials_set", [])
