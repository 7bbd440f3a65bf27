"""The integrations catalog in a real browser: search as you type (reflected in the URL), each category filter, the
empty state, keyboard-only use, no-JavaScript use, accessibility of every state, screenshots."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, expect
from tests.browser.conftest import CHROMIUM, BrowserPage
from tests.support.api_server import ApiServer

ALL = 9


def tiles(web: BrowserPage) -> list[str]:
    return web.page.locator("#catalog > li").evaluate_all("nodes => nodes.map(n => n.dataset.type)")


def test_catalog_lists_every_type_with_logo_or_letters(web: BrowserPage) -> None:
    response = web.goto("/ui/integrations")
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    expect(web.page.get_by_test_id("result-count")).to_have_text(f"{ALL} of {ALL} integrations")
    assert len(tiles(web)) == ALL
    # simple-icons logos for the CC0 marks, lettered tiles for the rest
    prometheus = web.page.locator('[data-type="alertmanager"] .logo')
    assert prometheus.locator("svg path").count() == 1
    aws = web.page.locator('[data-type="aws-cloudwatch"] .logo')
    expect(aws).to_have_class(re.compile("lettered"))
    expect(aws).to_have_text("AWS")
    jira = web.page.locator('[data-type="jira"]')
    expect(jira.locator(".badge")).to_have_text(["Ticketing", "Bi-directional", "OAuth 2.0", "API token"])
    web.check_accessibility("the catalog")
    for width in (1280, 375):
        web.screenshot("catalog", width)


def test_search_as_you_type_filters_and_updates_the_url(web: BrowserPage) -> None:
    web.goto("/ui/integrations")
    search = web.page.get_by_label("Search integrations")
    search.press_sequentially("sns", delay=30)
    expect(web.page.locator("#catalog > li")).to_have_count(1)
    assert tiles(web) == ["aws-cloudwatch"]  # matched by alias
    expect(web.page).to_have_url(re.compile(r"[?&]q=sns"))
    web.check_accessibility("the catalog searched for an alias")
    search.fill("")
    search.press_sequentially("ticket", delay=30)  # in the description of Jira and ServiceNow
    expect(web.page.locator("#catalog > li")).to_have_count(2)
    assert sorted(tiles(web)) == ["jira", "servicenow"]
    # the URL is the state: loading it again shows the same result
    web.page.reload()
    expect(web.page.get_by_label("Search integrations")).to_have_value("ticket")
    assert sorted(tiles(web)) == ["jira", "servicenow"]


def test_each_category_filter(web: BrowserPage) -> None:
    expected = {
        "Monitoring": {"alertmanager", "grafana"},
        "Cloud": {"aws-cloudwatch", "azure-monitor", "gcp-monitoring"},
        "Ticketing": {"jira", "servicenow"},
        "Generic": {"generic-webhook", "events-api"},
    }
    web.goto("/ui/integrations")
    for label, types in expected.items():
        web.page.locator(".chip", has_text=label).click()
        for kind in types:  # wait for this filter's tiles, not just for a count the previous filter had too
            expect(web.page.locator(f'#catalog > li[data-type="{kind}"]')).to_have_count(1)
        expect(web.page.locator("#catalog > li")).to_have_count(len(types))
        assert set(tiles(web)) == types
        expect(web.page).to_have_url(re.compile(rf"category={label.lower()}"))
        web.check_accessibility(f"the catalog filtered to {label}")
    web.page.locator(".chip", has_text="All").click()
    expect(web.page.locator("#catalog > li")).to_have_count(ALL)
    # search and filter combine
    web.page.locator(".chip", has_text="Cloud").click()
    web.page.get_by_label("Search integrations").press_sequentially("google", delay=30)
    expect(web.page.locator("#catalog > li")).to_have_count(1)
    assert tiles(web) == ["gcp-monitoring"]


def test_empty_state_points_to_the_generic_webhook(web: BrowserPage) -> None:
    web.goto("/ui/integrations?q=no-such-tool")
    empty = web.page.get_by_test_id("empty-state")
    expect(empty).to_contain_text("No integration matches “no-such-tool”")
    web.check_accessibility("the empty catalog")
    empty.get_by_role("link", name="Set up a generic webhook").click()
    expect(web.page).to_have_url(re.compile("/ui/integrations/new/generic-webhook"))


def test_keyboard_only(web: BrowserPage) -> None:
    web.goto("/ui/integrations")
    keyboard = web.page.keyboard
    keyboard.press("Tab")
    expect(web.page.locator(":focus")).to_have_text("Skip to content")
    keyboard.press("Enter")
    # from the skip link, Tab reaches the search box without the mouse
    for _ in range(10):
        keyboard.press("Tab")
        if web.page.evaluate("document.activeElement.id") == "q":
            break
    assert web.page.evaluate("document.activeElement.id") == "q"
    keyboard.type("graf")
    expect(web.page.locator("#catalog > li")).to_have_count(1)
    # category radios: Tab into the group, arrows move the choice
    keyboard.press("Tab")
    expect(web.page.locator(":focus")).to_have_attribute("value", "")
    keyboard.press("ArrowRight")
    expect(web.page.locator(":focus")).to_have_attribute("value", "monitoring")
    expect(web.page).to_have_url(re.compile("category=monitoring"))
    expect(web.page.locator("#catalog > li")).to_have_count(1)
    # to the tile's link, and Enter opens its wizard
    for _ in range(5):
        keyboard.press("Tab")
        if web.page.evaluate("document.activeElement.tagName") == "A":
            break
    expect(web.page.locator(":focus")).to_have_text("Grafana")
    keyboard.press("Enter")
    expect(web.page).to_have_url(re.compile("/ui/integrations/new/grafana"))


def test_works_without_javascript(browser: Browser, api: ApiServer) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=api.url)
    try:
        page = context.new_page()
        page.goto("/ui/integrations")
        page.get_by_label("Search integrations").fill("azure")
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(re.compile(r"q=azure"))
        assert page.locator("#catalog > li").count() == 1
        page.locator(".chip", has_text="Ticketing").click()
        page.get_by_label("Search integrations").fill("")
        page.get_by_role("button", name="Apply").click()
        assert page.locator("#catalog > li").count() == 2
    finally:
        context.close()


def test_vendored_htmx_is_served_with_its_hash(api: ApiServer) -> None:
    import hashlib

    from signalcraft.server.ui.web import HTMX_FILE, HTMX_SHA256

    response = httpx.get(f"{api.url}/ui/static/{HTMX_FILE}")
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == HTMX_SHA256
    assert CHROMIUM  # the browser the suite drives is the system's


def test_wizard_signed_out_and_unknown_pages(web: BrowserPage) -> None:
    web.goto("/ui/integrations/new/azure-monitor")
    expect(web.page.get_by_role("heading", name="Set up Azure Monitor")).to_be_visible()
    expect(web.page.locator(".notice")).to_contain_text("Sign in to create")
    web.check_accessibility("a wizard while signed out")
    response = web.goto("/ui/integrations/new/no-such-type")
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(web.page.get_by_role("alert")).to_contain_text("There is no integration type 'no-such-type'")
    web.check_accessibility("the not-found page")
    web.goto("/ui/login")
    web.check_accessibility("the sign-in page")
