"""People sign in: one-time invite links, email + password, session cookie flags, sign-out, CSRF refusals, the
login rate limit, and the pages that need a session."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import BrowserContext, expect
from tests.browser.conftest import BrowserPage, accept_invite, invite
from tests.support.api_server import ApiServer


def test_invite_sign_in_and_out(web: BrowserPage, context: BrowserContext, api: ApiServer) -> None:
    person, link = invite(api, "admin")
    web.page.goto(link)
    web.check_accessibility("the invite page")
    # too short a password is refused on the page
    web.page.get_by_label("New password").fill("short")
    web.page.get_by_label("The same password again").fill("short")
    web.page.locator("#password").evaluate("e => e.removeAttribute('minlength')")
    web.page.locator("#password_again").evaluate("e => e.removeAttribute('minlength')")
    web.page.get_by_role("button", name="Set password and sign in").click()
    expect(web.page.get_by_role("alert")).to_contain_text("at least 12 characters")
    web.check_accessibility("the invite page refusing a short password")
    accept_invite(web, link, person)
    expect(web.page.locator(".who")).to_contain_text("(admin)")
    cookie = next(c for c in context.cookies() if c["name"] == "signalcraft_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # served over plain HTTP here; over TLS the cookie is Secure (unit test)
    # the link worked once
    web.page.goto(link)
    expect(web.page.get_by_role("alert")).to_contain_text("used already or has expired")
    # sign out ends the session on the server: the old cookie no longer works
    web.goto("/ui/integrations")
    web.page.get_by_role("button", name="Sign out").click()
    expect(web.page.get_by_role("status")).to_contain_text("You are signed out")
    web.check_accessibility("the sign-in page after signing out")
    stale = httpx.get(f"{api.url}/ui/integrations/new/grafana", cookies={"signalcraft_session": cookie["value"]}).text
    assert "Sign in</a> to create" in stale
    # a page that needs a session sends you to sign in, and back afterwards
    web.goto("/ui/integrations/some-integration")
    expect(web.page).to_have_url(re.compile(r"/ui/login\?next=/ui/integrations/some-integration"))
    web.page.get_by_label("Email").fill(person.email)
    web.page.get_by_label("Password").fill("wrong password!")
    web.page.get_by_role("button", name="Sign in").click()
    expect(web.page.get_by_role("alert")).to_contain_text("Wrong email or password")
    web.check_accessibility("the sign-in page refusing a wrong password")
    web.page.get_by_label("Password").fill(person.password)
    web.page.get_by_role("button", name="Sign in").click()
    expect(web.page).to_have_url(re.compile("/ui/integrations/some-integration"))


def test_csrf_refusals(web: BrowserPage, api: ApiServer) -> None:
    person, link = invite(api, "owner")
    accept_invite(web, link, person)
    # a form without the session's CSRF token is refused and changes nothing
    refused = web.page.request.post(f"{api.url}/ui/integrations/new/alertmanager", form={"name": "forged"})
    assert refused.status == 403
    assert "CSRF" in refused.text()
    wrong = web.page.request.post(
        f"{api.url}/ui/integrations/new/alertmanager", form={"name": "forged", "csrf_token": "not-the-token"}
    )
    assert wrong.status == 403
    with api.client() as admin:
        assert admin.get("/v1/integrations/forged").status_code == 404
    # the refusal page, as a person sees it
    web.page.set_content("")
    web.goto("/ui/integrations/new/alertmanager")
    web.page.locator('main input[name="csrf_token"]').evaluate("e => e.value = 'tampered'")
    web.page.locator("#name").fill("forged")
    web.page.get_by_role("button", name="Create integration").click()
    expect(web.page.get_by_role("heading", name="The form could not be accepted")).to_be_visible()
    web.errors.clear()  # the 403 itself is logged by the browser
    web.check_accessibility("the CSRF refusal page")
    # sign-out needs the token too
    assert web.page.request.post(f"{api.url}/ui/logout", form={}).status == 403
    # the sign-in form is protected before there is a session (double-submit cookie)
    with httpx.Client(base_url=api.url) as anonymous:
        answer = anonymous.post("/ui/login", data={"email": person.email, "password": person.password})
        assert answer.status_code == 403


def test_login_rate_limit(api: ApiServer) -> None:
    person, _ = invite(api, "responder")
    with httpx.Client(base_url=api.url) as browserless:
        page = browserless.get("/ui/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        statuses = []
        for _ in range(8):
            answer = browserless.post(
                "/ui/login", data={"email": person.email, "password": "guess-guess-guess", "csrf_token": token[1]}
            )
            statuses.append(answer.status_code)
        assert statuses[:5] == [401] * 5
        assert statuses[5:] == [429] * 3
        assert int(answer.headers["retry-after"]) >= 1
        assert "Too many sign-in attempts" in answer.text


def test_signed_in_catalog_has_the_installed_section(web: BrowserPage, api: ApiServer) -> None:
    person, link = invite(api, "responder")
    accept_invite(web, link, person)
    web.goto("/ui/integrations")
    expect(web.page.get_by_role("heading", name="Installed")).to_be_visible()
    web.check_accessibility("the catalog signed in")
    web.goto("/ui/login")  # signed in already: straight on
    expect(web.page).to_have_url(re.compile("/ui/integrations"))
