"""Browser tests: Playwright for Python driving Debian's Chromium (never a downloaded browser) against the real API
server process. Every page a test visits is checked with axe-core (0 violations) and for Content-Security-Policy
violations in the console.

Screenshots go to build/screenshots/ in the repository (ignored by git), or to $SIGNALCRAFT_SCREENSHOTS.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    expect,
    sync_playwright,
)
from tests.support.api_server import ApiServer, running_api_server

CHROMIUM = os.environ.get("SIGNALCRAFT_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
SCREENSHOTS = Path(os.environ.get("SIGNALCRAFT_SCREENSHOTS", Path(__file__).parents[2] / "build" / "screenshots"))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # `make tools` installs Chromium (tools/system-packages.sh); without it every browser test fails, never skips.
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: run make tools"
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with running_api_server(tmp_path_factory.mktemp("api")) as server:
        yield server


@dataclass
class BrowserPage:
    """A page plus what the checks collected: console errors (CSP refusals show up there) and failed requests."""

    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def check_accessibility(self, what: str) -> None:
        """axe-core on the page as it is now: no violation of any rule, whatever its impact."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            # evaluate() runs as the debugger does, not as an inline script, so the page's CSP stays as strict.
            self.page.evaluate(axe_source())
        result = self.page.evaluate(
            "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})); }"
        )
        assert result == [], f"axe-core violations on {what}: {result}"

    def screenshot(self, name: str, width: int) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.set_viewport_size({"width": width, "height": 900})
        path = SCREENSHOTS / f"{name}-{width}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def axe_source() -> str:
    data = AXE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == AXE_SHA256, "the vendored axe-core is not the one checked in"
    return data.decode()


@pytest.fixture
def context(browser: Browser, api: ApiServer) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=api.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=api.url)
    yield context
    context.close()


@pytest.fixture
def web(context: BrowserContext, api: ApiServer) -> Iterator[BrowserPage]:
    page = context.new_page()
    checked = BrowserPage(page, api.url)

    def on_console(message: ConsoleMessage) -> None:
        # A page answered with 4xx on purpose (a refusal) is logged as "Failed to load resource"; failed
        # subresources (a missing script, style or logo) are caught below instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            checked.errors.append(message.text)

    def on_response(response: Response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            checked.errors.append(f"{response.status} for {response.request.resource_type} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.set_default_timeout(10_000)
    yield checked
    assert checked.errors == [], f"console errors (CSP refusals included): {checked.errors}"


@dataclass
class Person:
    name: str
    email: str
    password: str
    role: str


def invite(api: ApiServer, role: str = "owner") -> tuple[Person, str]:
    """A user created through the API, and the one-time invite link the API hands out for them."""
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    person = Person(name, f"{name}@example.com", f"pw-{uuid.uuid4().hex}", role)
    with api.client() as admin:
        created = admin.put(f"/v1/users/{name}", json={"spec": {"email": person.email, "role": role}})
        assert created.status_code == 201, created.text
        link = admin.post(f"/v1/users/{name}:invite")
        assert link.status_code == 200, link.text
    return person, str(link.json()["invite_url"])


def accept_invite(web: BrowserPage, link: str, person: Person) -> None:
    web.page.goto(link)
    web.page.get_by_label("New password").fill(person.password)
    web.page.get_by_label("The same password again").fill(person.password)
    web.page.get_by_role("button", name="Set password and sign in").click()
    expect(web.page.locator(".who")).to_contain_text(person.email)


def sign_in(web: BrowserPage, person: Person) -> None:
    web.goto("/ui/login")
    web.page.get_by_label("Email").fill(person.email)
    web.page.get_by_label("Password").fill(person.password)
    web.page.get_by_role("button", name="Sign in").click()
    expect(web.page.locator(".who")).to_contain_text(person.email)


@pytest.fixture
def owner(api: ApiServer, web: BrowserPage) -> Person:
    """A signed-in owner in the test's browser page."""
    person, link = invite(api, "owner")
    accept_invite(web, link, person)
    return person
