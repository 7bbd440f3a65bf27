"""The pages under /ui: the integrations catalog, setup wizards, sign-in. Server-rendered; htmx only enhances them.

Every change goes through API v1 in-process as the signed-in person (`ui.api`), so the pages can do exactly what that
person's role lets the API do, and objects a Kubernetes operator or Terraform manages stay read-only here as they are
for any other client.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from signalcraft.api.specs import IntegrationType
from signalcraft.server import atlassian, ticketing
from signalcraft.server.context import state_of
from signalcraft.server.dispatch import PrefixRouter
from signalcraft.server.ui import catalog, examples, guides, people, store, wizard
from signalcraft.server.ui.api import Api, ApiProblem
from signalcraft.server.ui.web import render

router = PrefixRouter(prefix="/ui", include_in_schema=False)
LOGIN_LIMITER = people.LoginLimiter()
READ_ONLY_KINDS = {"kubernetes": "the Kubernetes operator", "terraform": "Terraform"}


# ---------------------------------------------------------------- helpers


class PageNotFound(Exception):
    """A /ui page for something that does not exist: answered with an HTML page, not problem+json."""


async def not_found(request: Request, exc: Exception) -> Response:
    viewer = await _viewer(request)
    return render(
        request,
        "message.html",
        _base_context(request, viewer, title="Not found", message=f"There is {exc}."),
        status_code=404,
    )


async def _viewer(request: Request) -> people.Viewer | None:
    return await people.current_viewer(state_of(request).db, request)


def _base_context(request: Request, viewer: people.Viewer | None, **extra: Any) -> dict[str, Any]:
    return {
        "section": "integrations",
        "viewer": viewer,
        "csrf_token": viewer.csrf_token if viewer is not None else "",
        **extra,
    }


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/ui/login?next={quote(request.url.path, safe='/')}", status_code=303)


def _safe_next(target: str | None) -> str:
    """Only our own pages: a path under /ui, never another host (`//evil`, `/\\evil`)."""
    if target and target.startswith("/ui") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return "/ui/integrations"


def _api(request: Request, viewer: people.Viewer | None) -> Api:
    return Api(request.app, viewer.principal if viewer is not None else None, str(request.base_url))


def _entry(kind: str) -> catalog.CatalogEntry:
    entry = catalog.BY_TYPE.get(kind)
    if entry is None:
        raise PageNotFound(f"no integration type {kind!r}")
    return entry


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _refused(request: Request, viewer: people.Viewer | None) -> HTMLResponse:
    return render(
        request,
        "message.html",
        _base_context(
            request,
            viewer,
            title="The form could not be accepted",
            message="It expired or did not come from this site (CSRF check). Go back, reload the page and try again.",
        ),
        status_code=403,
    )


async def _signed_in_form(request: Request) -> tuple[people.Viewer, dict[str, str]] | Response:
    """The prelude of every signed-in form post: the viewer and the form, or the answer that ends the request
    (to the sign-in page when nobody is signed in, refused when the CSRF token does not match the session)."""
    viewer = await _viewer(request)
    if viewer is None:
        return _login_redirect(request)
    form = await _form(request)
    if not people.csrf_valid(viewer.csrf_token, form.get("csrf_token")):
        return _refused(request, viewer)
    return viewer, form


def _ago(moment: str | None) -> str:
    if not moment:
        return ""
    try:
        then = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return moment
    seconds = max(0, int((datetime.now(UTC) - then).total_seconds()))
    if seconds < 60:
        return "just now" if seconds < 10 else f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


@dataclass(frozen=True)
class Status:
    state: str
    text: str


def status_of(resource: Mapping[str, Any]) -> Status:
    """waiting / receiving / error, from what the webhook route recorded on the integration's status."""
    status = resource.get("status") or {}
    last_event = status.get("last_event_received_at")
    rejected = status.get("last_rejected_request") or {}
    outbound = status.get("last_outbound") or {}
    if rejected and (not last_event or str(rejected.get("at", "")) > str(last_event)):
        return Status("error", f"error — last request {rejected.get('status')} ({rejected.get('code', '')})")
    if outbound and outbound.get("ok") is False and not last_event:
        return Status("error", "error — last ticket call failed")
    if last_event:
        return Status("receiving", f"receiving — last alert {_ago(last_event)}")
    if outbound and outbound.get("ok"):
        return Status("receiving", f"connected — last ticket call {_ago(outbound.get('at'))}")
    return Status("waiting", "waiting for first alert")


def managed_by(resource: Mapping[str, Any]) -> str | None:
    """Who manages the integration, when that makes it read-only here."""
    manager = resource.get("manager") or None
    if not manager or manager.get("allows_edits"):
        return None
    return READ_ONLY_KINDS.get(str(manager.get("kind")), str(manager.get("kind")))


def _type_of(resource: Mapping[str, Any]) -> IntegrationType:
    return IntegrationType(resource["spec"]["type"])


# ---------------------------------------------------------------- catalog


@router.get("")
async def home() -> Response:
    return RedirectResponse("/ui/integrations", status_code=303)


@router.get("/integrations")
async def integrations(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    viewer = await _viewer(request)
    wanted = category if category in {c.value for c in catalog.Category} else ""
    entries = catalog.search(q.strip(), wanted or None)
    installed: list[dict[str, Any]] = []
    if viewer is not None and viewer.can("integrations", "read"):
        async with _api(request, viewer) as api:
            for resource in await api.integrations():
                entry = catalog.BY_TYPE[resource["spec"]["type"]]
                installed.append(
                    {
                        "name": resource["name"],
                        "title": resource.get("display_name") or resource["name"],
                        "entry": entry,
                        "status": status_of(resource),
                        "managed_by": managed_by(resource),
                    }
                )
    return render(
        request,
        "catalog.html",
        _base_context(
            request,
            viewer,
            installed=installed,
            query=q,
            category=wanted,
            entries=entries,
            total=len(catalog.CATALOG),
        ),
    )


# ---------------------------------------------------------------- wizard: name and create


def _new_page(
    request: Request,
    viewer: people.Viewer | None,
    entry: catalog.CatalogEntry,
    form: Mapping[str, str],
    *,
    error: str | None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "new.html",
        _base_context(
            request,
            viewer,
            entry=entry,
            settings=wizard.SETTINGS[entry.type],
            form=dict(form),
            error=error,
            can_create=viewer is not None and viewer.can("integrations", "write"),
        ),
        status_code=status_code,
    )


@router.get("/integrations/new/{kind}")
async def new_integration(request: Request, kind: str) -> HTMLResponse:
    return _new_page(request, await _viewer(request), _entry(kind), {}, error=None)


@router.post("/integrations/new/{kind}")
async def create_integration(request: Request, kind: str) -> Response:
    entry = _entry(kind)
    signed_in = await _signed_in_form(request)
    if isinstance(signed_in, Response):
        return signed_in
    viewer, form = signed_in
    name = form.get("name", "").strip()
    answers = wizard.answers(entry.type, form)
    body: dict[str, Any] = {"spec": answers.spec}
    if answers.display_name:
        body["display_name"] = answers.display_name
    if answers.credentials:
        body["credentials"] = answers.credentials
    try:
        async with _api(request, viewer) as api:
            await api.json("PUT", f"/v1/integrations/{quote(name, safe='')}", json=body, headers={"If-None-Match": "*"})
    except ApiProblem as problem:
        message = (
            f"An integration named {name!r} exists already: choose another name."
            if problem.code == "already-exists"
            else f"The integration was not created: {problem}"
        )
        return _new_page(request, viewer, entry, form, error=message, status_code=problem.status)
    return RedirectResponse(f"/ui/integrations/{quote(name, safe='')}?created=1", status_code=303)


# ---------------------------------------------------------------- setup page of one integration


async def _setup_context(request: Request, viewer: people.Viewer, name: str, **extra: Any) -> dict[str, Any] | None:
    async with _api(request, viewer) as api:
        try:
            resource = await api.integration(name)
        except ApiProblem as problem:
            if problem.status == 404:
                return None
            raise
        kind = _type_of(resource)
        connection: dict[str, Any] | None = None
        if viewer.can("integrations", "read_secrets"):
            connection = await api.connection(name)
    entry = catalog.BY_TYPE[kind.value]
    settings = resource["spec"].get(kind.value.replace("-", "_")) or {}
    status = resource.get("status") or {}
    credentials_set = tuple(status.get("credentials_set") or ())
    target = None
    example_body = None
    test_url = None
    if connection is not None:
        token = str(connection["webhook_token"])
        webhook_url = str(connection["webhook_url"])
        target = guides.Target(
            name,
            kind,
            webhook_url,
            token,
            str(connection["integration_key"]),
            str(request.base_url).rstrip("/"),
            settings,
            credentials_set,
        )
        example = examples.payload(kind, settings, str(connection["integration_key"]))
        if example is not None:
            example_body = examples.pretty(example)
            test_url = target.base_url + "/v2/enqueue" if kind is IntegrationType.EVENTS_API else webhook_url
    managed = managed_by(resource)
    return _base_context(
        request,
        viewer,
        resource=resource,
        entry=entry,
        name=name,
        title=resource.get("display_name") or name,
        status=status_of(resource),
        managed_by=managed,
        manager=resource.get("manager"),
        editable=managed is None and viewer.can("integrations", "write"),
        connection=connection,
        masked_url=_masked(connection),
        sections=guides.sections(target) if target is not None else [],
        example_body=extra.pop("example_body", None) or example_body,
        test_url=test_url,
        curl=examples.curl(test_url, example_body) if test_url and example_body else None,
        not_testable=examples.NOT_TESTABLE.get(kind),
        created=request.query_params.get("created") == "1",
        jira_oauth=kind is IntegrationType.JIRA and state_of(request).jira_oauth is not None,
        jira_connected="oauth_refresh_token" in credentials_set,
        test_result=None,
        notice=request.query_params.get("notice"),
        **extra,
    )


def _masked(connection: Mapping[str, Any] | None) -> str:
    if connection is None:
        return ""
    token = str(connection["webhook_token"])
    return str(connection["webhook_url"]).replace(token, "•" * 12 + token[-4:])


@router.get("/integrations/{name}")
async def integration_page(request: Request, name: str) -> Response:
    viewer = await _viewer(request)
    if viewer is None:
        return _login_redirect(request)
    context = await _setup_context(request, viewer, name)
    if context is None:
        raise PageNotFound(f"no integration {name!r}")
    return render(request, "integration.html", context)


@router.get("/integrations/{name}/status")
async def integration_status(request: Request, name: str) -> Response:
    """The live status line (htmx polls it until the first alert arrived)."""
    viewer = await _viewer(request)
    if viewer is None:
        return _login_redirect(request)
    async with _api(request, viewer) as api:
        try:
            resource = await api.integration(name)
        except ApiProblem as problem:
            raise PageNotFound(problem.detail) from None
    return render(request, "_status.html", {"name": name, "status": status_of(resource)})


@router.post("/integrations/{name}/test")
async def send_test_alert(request: Request, name: str) -> Response:
    """Send the (edited) example through the real webhook route, exactly as the monitoring tool would."""
    signed_in = await _signed_in_form(request)
    if isinstance(signed_in, Response):
        return signed_in
    viewer, form = signed_in
    body = form.get("payload", "")
    context = await _setup_context(request, viewer, name, example_body=body)
    if context is None:
        raise PageNotFound(f"no integration {name!r}")
    result = await _deliver(request, context.get("test_url"), body)
    context["test_result"] = result
    if context["test_url"]:
        context["curl"] = examples.curl(context["test_url"], body)
    if request.headers.get("hx-request") == "true":
        return render(request, "_test_result.html", {"test_result": result})
    return render(request, "integration.html", context, status_code=200)


async def _deliver(request: Request, url: str | None, body: str) -> dict[str, Any]:
    if not url:
        return {"ok": False, "status": 0, "text": "This integration cannot take a test alert from here."}
    try:
        json.loads(body)
    except ValueError as exc:
        return {"ok": False, "status": 0, "text": f"The payload is not JSON: {exc}"}
    path = url.removeprefix(str(request.base_url).rstrip("/"))
    async with Api(request.app, None, str(request.base_url)) as api:
        try:
            response = await api.call("POST", path, content=body, headers={"Content-Type": "application/json"})
        except ApiProblem as problem:
            return {"ok": False, "status": problem.status, "text": f"Refused ({problem.code}): {problem}"}
    answer = response.json() if "json" in response.headers.get("content-type", "") else {}
    if response.status_code >= 400:
        return {"ok": False, "status": response.status_code, "text": response.text[:500]}
    if "accepted" in answer:
        groups = ", ".join(answer.get("alert_groups") or []) or "none"
        text = f"Received: {answer['accepted']} alert(s), alert group {groups}."
    else:
        text = f"Received: {answer.get('message') or answer.get('status', 'accepted')} ({answer.get('dedup_key', '')})"
    return {"ok": True, "status": response.status_code, "text": text}


@router.post("/integrations/{name}/rotate")
async def rotate_token(request: Request, name: str) -> Response:
    signed_in = await _signed_in_form(request)
    if isinstance(signed_in, Response):
        return signed_in
    viewer, _form_fields = signed_in
    async with _api(request, viewer) as api:
        try:
            await api.json("POST", f"/v1/integrations/{quote(name, safe='')}/connection:rotate")
            notice = "The token was replaced: update the URL wherever the old one was configured."
        except ApiProblem as problem:
            notice = f"The token was not replaced: {problem}"
    return RedirectResponse(f"/ui/integrations/{quote(name, safe='')}?notice={quote(notice)}", status_code=303)


@router.get("/integrations/{name}/delete")
async def confirm_delete(request: Request, name: str) -> Response:
    viewer = await _viewer(request)
    if viewer is None:
        return _login_redirect(request)
    context = await _setup_context(request, viewer, name)
    if context is None:
        raise PageNotFound(f"no integration {name!r}")
    return render(request, "delete.html", {**context, "error": None})


@router.post("/integrations/{name}/delete")
async def delete_integration(request: Request, name: str) -> Response:
    signed_in = await _signed_in_form(request)
    if isinstance(signed_in, Response):
        return signed_in
    viewer, form = signed_in
    error = None
    if form.get("confirm_name", "").strip() != name:
        error = f"Type the integration's name, {name}, to confirm."
    else:
        async with _api(request, viewer) as api:
            try:
                await api.call("DELETE", f"/v1/integrations/{quote(name, safe='')}")
            except ApiProblem as problem:
                error = f"The integration was not deleted: {problem}"
    if error is None:
        return RedirectResponse("/ui/integrations", status_code=303)
    context = await _setup_context(request, viewer, name)
    if context is None:
        return RedirectResponse("/ui/integrations", status_code=303)
    return render(request, "delete.html", {**context, "error": error}, status_code=422)


# ---------------------------------------------------------------- sign-in


def _login_page(
    request: Request, *, error: str | None = None, email: str = "", status_code: int = 200, **extra: str
) -> HTMLResponse:
    token = people.prelogin_token(request)
    response = render(
        request,
        "login.html",
        {
            "section": "login",
            "viewer": None,
            "csrf_token": token,
            "show_sign_in": False,
            "error": error,
            "email": email,
            "next": _safe_next(request.query_params.get("next") or extra.get("next")),
        },
        status_code=status_code,
        headers={"Retry-After": extra["retry_after"]} if "retry_after" in extra else None,
    )
    people.set_prelogin_cookie(request, response, token)
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    if await _viewer(request) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    email = form.get("email", "").strip()
    next_page = form.get("next", "")
    if not people.csrf_valid(request.cookies.get(people.PRELOGIN_COOKIE), form.get("csrf_token")):
        return _refused(request, None)
    wait = LOGIN_LIMITER.retry_after(request, email)
    if wait is not None:
        return _login_page(
            request,
            error=f"Too many sign-in attempts. Try again in {wait} seconds.",
            email=email,
            status_code=429,
            retry_after=wait,
            next=next_page,
        )
    db = state_of(request).db
    person = await store.person_by_email(db, email) if email else None
    if not people.verify_password(person.password_hash if person else None, form.get("password", "")):
        return _login_page(request, error="Wrong email or password.", email=email, status_code=401, next=next_page)
    assert person is not None
    response = RedirectResponse(_safe_next(next_page), status_code=303)
    await people.start_session(db, request, response, person)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    viewer = await _viewer(request)
    form = await _form(request)
    if viewer is not None and not people.csrf_valid(viewer.csrf_token, form.get("csrf_token")):
        return _refused(request, viewer)
    response = RedirectResponse("/ui/login?signed_out=1", status_code=303)
    await people.end_session(state_of(request).db, request, response)
    return response


def _invite_page(
    request: Request, token: str, person: store.Person | None, error: str | None, status_code: int = 200
) -> HTMLResponse:
    csrf = people.prelogin_token(request)
    response = render(
        request,
        "invite.html",
        {
            "section": "login",
            "viewer": None,
            "csrf_token": csrf,
            "show_sign_in": False,
            "person": person,
            "token": token,
            "error": error,
        },
        status_code=status_code,
    )
    people.set_prelogin_cookie(request, response, csrf)
    return response


async def _invited(request: Request, token: str) -> store.Person | None:
    person = await store.person_by_invite(state_of(request).db, people.digest(token))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if person is None or not person.invite_expires_at or person.invite_expires_at <= now:
        return None
    return person


@router.get("/invite/{token}")
async def invite_form(request: Request, token: str) -> Response:
    person = await _invited(request, token)
    if person is None:
        return _invite_page(request, token, None, "This invite link was used already or has expired.", 404)
    return _invite_page(request, token, person, None)


@router.post("/invite/{token}")
async def accept_invite(request: Request, token: str) -> Response:
    form = await _form(request)
    if not people.csrf_valid(request.cookies.get(people.PRELOGIN_COOKIE), form.get("csrf_token")):
        return _refused(request, None)
    person = await _invited(request, token)
    if person is None:
        return _invite_page(request, token, None, "This invite link was used already or has expired.", 404)
    password = form.get("password", "")
    problem = people.password_problem(password, person.email)
    if problem is None and password != form.get("password_again", ""):
        problem = "The two passwords differ."
    if problem is not None:
        return _invite_page(request, token, person, problem, 422)
    db = state_of(request).db
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not await store.accept_invite(db, person.id, people.digest(token), people.hash_password(password), now):
        return _invite_page(request, token, None, "This invite link was used already or has expired.", 404)
    await store.delete_sessions_of(db, person.id)  # a new password ends every older session
    response = RedirectResponse("/ui/integrations", status_code=303)
    await people.start_session(db, request, response, person)
    return response


# ---------------------------------------------------------------- Jira by OAuth 2.0 (3LO)

OAUTH_COOKIE = "signalcraft_jira_oauth"
OAUTH_CALLBACK = "/ui/oauth/jira/callback"


def _redirect_uri(request: Request) -> str:
    base = state_of(request).public_url or str(request.base_url)
    return base.rstrip("/") + OAUTH_CALLBACK


def _back_to(name: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/ui/integrations/{quote(name, safe='')}?notice={quote(notice)}", status_code=303)


@router.post("/integrations/{name}/jira/connect")
async def jira_connect(request: Request, name: str) -> Response:
    """Start Atlassian's authorization-code flow: a fresh state and PKCE verifier bound to this browser's session."""
    signed_in = await _signed_in_form(request)
    if isinstance(signed_in, Response):
        return signed_in
    viewer, _form_fields = signed_in
    app = state_of(request).jira_oauth
    if app is None:
        return _back_to(name, "This server has no Atlassian OAuth app configured; use an API token.")
    context = await _setup_context(request, viewer, name)
    if context is None or context["entry"].type is not IntegrationType.JIRA or not context["editable"]:
        return _back_to(name, "Only an editable Jira integration can be connected.")
    state = secrets.token_urlsafe(32)
    verifier, challenge = atlassian.pkce_pair()
    response = RedirectResponse(
        app.authorize_url(redirect_uri=_redirect_uri(request), state=state, code_challenge=challenge),
        status_code=303,
    )
    # Lax: the callback is a top-level navigation from Atlassian, which Lax cookies accompany.
    response.set_cookie(
        OAUTH_COOKIE,
        json.dumps({"state": state, "verifier": verifier, "integration": name, "session": viewer.session.id_hash}),
        max_age=600,
        httponly=True,
        secure=people.is_tls(request),
        samesite="lax",
        path="/ui/oauth",
    )
    return response


@router.get("/oauth/jira/callback")
async def jira_callback(request: Request) -> Response:
    viewer = await _viewer(request)
    if viewer is None:
        return _login_redirect(request)
    try:
        pending = json.loads(request.cookies.get(OAUTH_COOKIE, "") or "{}")
    except ValueError:
        pending = {}
    name = str(pending.get("integration", ""))
    offered = request.query_params.get("state", "")
    if (
        not name
        or not people.csrf_valid(pending.get("state"), offered)
        or pending.get("session") != viewer.session.id_hash
    ):
        return _refused(request, viewer)
    if request.query_params.get("error"):
        reason = request.query_params.get("error_description") or request.query_params["error"]
        return _clear_oauth(_back_to(name, f"Jira was not connected: {reason}"))
    app = state_of(request).jira_oauth
    context = await _setup_context(request, viewer, name)
    if app is None or context is None or not context["editable"]:
        return _clear_oauth(_back_to(name, "Jira was not connected: the integration cannot be changed."))
    site = str(context["resource"]["spec"]["jira"]["base_url"])
    try:
        async with httpx.AsyncClient(timeout=15) as http:
            grant = await atlassian.exchange_code(
                http,
                app,
                code=request.query_params.get("code", ""),
                redirect_uri=_redirect_uri(request),
                code_verifier=str(pending.get("verifier", "")),
            )
            cloud_id = await atlassian.cloud_id_for(http, app, grant.access_token, site)
    except atlassian.OAuthError as exc:
        return _clear_oauth(_back_to(name, f"Jira was not connected: {exc}"))
    await ticketing.merge_credentials(state_of(request).db, name, grant.credentials(cloud_id))
    return _clear_oauth(_back_to(name, f"Jira connected with OAuth 2.0 (site {site}, cloud id {cloud_id})."))


def _clear_oauth(response: Response) -> Response:
    response.delete_cookie(OAUTH_COOKIE, path="/ui/oauth", httponly=True, samesite="lax")
    return response
