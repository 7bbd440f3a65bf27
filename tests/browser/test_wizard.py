"""The setup wizard in a real browser: name → create → endpoint (masked, reveal, copy) → numbered steps with the real
URL → test alert through the real webhook route → live status "connected"; rotate, delete with typed confirmation,
read-only integrations managed by the operator or Terraform, roles; the installed section's statuses."""

from __future__ import annotations

import json
import re
import uuid

import httpx
from playwright.sync_api import expect
from tests.browser.conftest import BrowserPage, Person, accept_invite, invite
from tests.support.api_server import ApiServer


def clipboard(web: BrowserPage) -> str:
    text: str = web.page.evaluate("navigator.clipboard.readText()")
    return text


def create(web: BrowserPage, kind: str, name: str, **fields: str) -> None:
    web.goto(f"/ui/integrations/new/{kind}")
    web.page.locator("#name").fill(name)
    for label, value in fields.items():
        web.page.get_by_label(label).fill(value)
    web.page.get_by_role("button", name="Create integration").click()
    expect(web.page).to_have_url(re.compile(f"/ui/integrations/{re.escape(name)}"))


def connection(api: ApiServer, name: str) -> dict[str, str]:
    with api.client() as admin:
        found: dict[str, str] = admin.get(f"/v1/integrations/{name}/connection").json()
        return found


def test_whole_wizard_up_to_the_test_alert(web: BrowserPage, api: ApiServer, owner: Person) -> None:
    name = f"grafana-{uuid.uuid4().hex[:6]}"
    # from the catalog tile into the wizard
    web.goto("/ui/integrations?q=grafana")
    web.page.get_by_role("link", name="Grafana", exact=True).click()
    expect(web.page.get_by_role("heading", name="Set up Grafana")).to_be_visible()
    web.check_accessibility("the Grafana wizard's first step")
    # name → create; a bad name is refused with the API's reason, on the page
    web.page.locator("#name").fill("Not A DNS Name")
    web.page.locator("#name").evaluate("e => e.removeAttribute('pattern')")
    web.page.get_by_role("button", name="Create integration").click()
    expect(web.page.get_by_role("alert")).to_contain_text("was not created")
    web.check_accessibility("the wizard refusing a bad name")
    web.page.locator("#name").fill(name)
    web.page.get_by_label("Display name").fill("Grafana production")
    web.page.get_by_role("button", name="Create integration").click()
    expect(web.page.get_by_role("heading", name="Grafana production")).to_be_visible()
    secret = connection(api, name)
    url, token = secret["webhook_url"], secret["webhook_token"]
    # the endpoint is masked until revealed
    shown = web.page.locator("#webhook-url")
    expect(shown).not_to_contain_text(token)
    expect(shown).to_contain_text(token[-4:])
    web.page.get_by_role("button", name="Reveal webhook URL").click()
    expect(shown).to_have_text(url)
    web.page.get_by_role("button", name="Copy webhook URL").click()
    expect(web.page.locator("#webhook-url-copied")).to_have_text("Copied")
    assert clipboard(web) == url
    # numbered steps carry the real URL
    steps = web.page.locator("ol.steps > li")
    assert steps.count() >= 4
    expect(web.page.locator("ol.steps")).to_contain_text(url)
    expect(web.page.get_by_test_id("live-status")).to_contain_text("waiting for first alert")
    web.check_accessibility("the setup page before the first alert")
    for width in (1280, 375):
        web.screenshot("wizard-grafana", width)
    web.page.set_viewport_size({"width": 1280, "height": 900})
    # edit the example, copy it as curl, send it through the real webhook route
    payload = json.loads(web.page.get_by_label("Example payload").input_value())
    payload["alerts"][0]["annotations"]["summary"] = "Edited in the browser"
    edited = json.dumps(payload)
    web.page.get_by_label("Example payload").fill(edited)
    web.page.get_by_role("button", name="Copy as curl").click()
    copied = clipboard(web)
    assert copied.startswith(f"curl -X POST '{url}'")
    assert "Edited in the browser" in copied
    web.page.get_by_role("button", name="Send test alert").click()
    result = web.page.get_by_test_id("test-result")
    expect(result).to_contain_text("Received: 1 alert(s)")
    # the live status turns to connected without a reload (htmx polls the status line)
    expect(web.page.get_by_test_id("live-status")).to_contain_text("connected", timeout=15_000)
    web.check_accessibility("the setup page after the test alert")
    with api.client() as admin:
        groups = admin.get("/v1/alert-groups", params={"integration": name}).json()["items"]
    assert [g["summary"] for g in groups] == ["Edited in the browser"]
    # the installed section of the catalog says so too
    web.goto("/ui/integrations")
    expect(web.page.get_by_test_id(f"status-{name}")).to_contain_text("receiving — last alert")
    web.check_accessibility("the catalog with an installed integration")
    for width in (1280, 375):
        web.screenshot("catalog-installed", width)


def test_error_status_rotate_and_delete(web: BrowserPage, api: ApiServer, owner: Person) -> None:
    name = f"signed-{uuid.uuid4().hex[:6]}"
    create(web, "grafana", name, **{"HMAC secret": "s3cret-hmac"})
    old = connection(api, name)["webhook_url"]
    # an unsigned request is refused (401) and the page says so
    web.page.get_by_role("button", name="Send test alert").click()
    expect(web.page.get_by_test_id("test-result")).to_contain_text("Not received")
    web.goto("/ui/integrations")
    expect(web.page.get_by_test_id(f"status-{name}")).to_contain_text("error — last request 401")
    web.check_accessibility("the catalog with an integration in error")
    # rotate: the old URL stops working, the page shows the new one
    web.goto(f"/ui/integrations/{name}")
    web.page.get_by_role("button", name="Rotate token").click()
    expect(web.page.get_by_role("status").filter(has_text="The token was replaced")).to_be_visible()
    new = connection(api, name)["webhook_url"]
    assert new != old
    assert httpx.post(old, json={}).status_code == 401
    expect(web.page.locator("#webhook-url")).to_have_attribute("data-value", new)
    # delete: a wrong name is refused, the right one deletes
    web.page.get_by_role("link", name="Delete this integration…").click()
    web.check_accessibility("the delete confirmation")
    web.page.get_by_label(re.compile("to confirm")).fill("something-else")
    web.page.get_by_role("button", name="Delete integration").click()
    expect(web.page.get_by_role("alert")).to_contain_text(f"Type the integration's name, {name}")
    web.check_accessibility("the delete confirmation refusing a wrong name")
    with api.client() as admin:
        assert admin.get(f"/v1/integrations/{name}").status_code == 200
    web.page.get_by_label(re.compile("to confirm")).fill(name)
    web.page.get_by_role("button", name="Delete integration").click()
    expect(web.page).to_have_url(re.compile("/ui/integrations$"))
    with api.client() as admin:
        assert admin.get(f"/v1/integrations/{name}").status_code == 404


def test_managed_integrations_are_read_only(web: BrowserPage, api: ApiServer, owner: Person) -> None:
    name = f"managed-{uuid.uuid4().hex[:6]}"
    with api.client() as admin:
        admin.put(
            f"/v1/integrations/{name}",
            json={"spec": {"type": "alertmanager"}, "manager": {"kind": "kubernetes", "identity": "k8s://c1/ns/am"}},
        ).raise_for_status()
    web.goto(f"/ui/integrations/{name}")
    expect(web.page.get_by_test_id("managed")).to_contain_text("Managed by the Kubernetes operator")
    expect(web.page.get_by_role("button", name="Rotate token")).to_have_count(0)
    expect(web.page.get_by_role("link", name="Delete this integration…")).to_have_count(0)
    web.check_accessibility("a read-only managed integration")
    # the forms are not there, and posting anyway is refused by the API's ownership rules
    token = web.page.locator('input[name="csrf_token"]').first.input_value()
    answer = web.page.request.post(
        f"{api.url}/ui/integrations/{name}/delete", form={"csrf_token": token, "confirm_name": name}
    )
    assert answer.status == 422
    with api.client() as admin:
        assert admin.get(f"/v1/integrations/{name}").status_code == 200
    web.goto("/ui/integrations")
    expect(web.page.locator(".installed-tile", has_text=name)).to_contain_text("managed by the Kubernetes operator")


def test_observer_role_sees_but_cannot_change(web: BrowserPage, api: ApiServer) -> None:
    person, link = invite(api, "observer")
    accept_invite(web, link, person)
    web.goto("/ui/integrations/new/alertmanager")
    expect(web.page.locator(".notice")).to_contain_text("can look at integrations but not create them")
    web.check_accessibility("the wizard for an observer")


def test_keyboard_only_wizard(web: BrowserPage, api: ApiServer, owner: Person) -> None:
    name = f"keys-{uuid.uuid4().hex[:6]}"
    web.goto("/ui/integrations/new/generic-webhook")
    web.page.locator("#name").focus()
    keyboard = web.page.keyboard
    keyboard.type(name)
    # Tab through the fields to the submit button, Enter creates
    for _ in range(12):
        keyboard.press("Tab")
        if web.page.evaluate("document.activeElement.textContent.trim()") == "Create integration":
            break
    keyboard.press("Enter")
    expect(web.page).to_have_url(re.compile(f"/ui/integrations/{name}"))
    url = connection(api, name)["webhook_url"]
    # Tab to the Copy button of the URL; Enter copies
    for _ in range(40):
        keyboard.press("Tab")
        if web.page.evaluate("document.activeElement.getAttribute('aria-label')") == "Copy webhook URL":
            break
    keyboard.press("Enter")
    expect(web.page.locator("#webhook-url-copied")).to_have_text("Copied")
    assert clipboard(web) == url
    # on to the test alert: the textarea, then its Send button
    web.page.get_by_label("Example payload").focus()
    keyboard.press("Tab")
    expect(web.page.locator(":focus")).to_have_text("Send test alert")
    keyboard.press("Enter")
    expect(web.page.get_by_test_id("test-result")).to_contain_text("Received")


def test_each_guide_renders_with_the_real_url(web: BrowserPage, api: ApiServer, owner: Person) -> None:
    fields = {
        "alertmanager": {},
        "aws-cloudwatch": {},
        "azure-monitor": {},
        "gcp-monitoring": {},
        "generic-webhook": {},
        "events-api": {},
        "jira": {"Jira site URL": "https://example.atlassian.net"},
        "servicenow": {"Instance URL": "https://example.service-now.com"},
    }
    for kind, values in fields.items():
        name = f"{kind}-{uuid.uuid4().hex[:4]}"
        create(web, kind, name, **values)
        secret = connection(api, name)
        expected = secret["integration_key"] if kind == "events-api" else secret["webhook_token"]
        expect(web.page.locator("ol.steps").first).to_be_visible()
        assert expected in web.page.locator("main").inner_text() or expected in web.page.content()
        web.check_accessibility(f"the {kind} setup page")
    expect(web.page.get_by_role("heading", name=re.compile("Incoming"))).to_be_visible()
