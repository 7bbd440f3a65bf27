"""Stand-ins for Jira Cloud (REST v3) and ServiceNow (Table API), following the vendors' published contracts.

They check what the real services check — authentication, required fields, Atlassian Document Format for rich text,
the shape of transitions and work notes — answer with the documented bodies and status codes (201 with
{id, key, self}; 201 with {"result": {...}}), and can be told to fail the next requests with 429 + Retry-After, 5xx or
a 400 field error, so retries and failure reporting are exercised over real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from tests.support.processes import free_port, serving_in_thread


@dataclass
class Fault:
    status: int
    headers: dict[str, str]
    body: Any
    path_contains: str


@dataclass
class Faults:
    queue: list[Fault] = field(default_factory=list)

    def next_requests(
        self,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        body: Any = None,
        *,
        path_contains: str = "",
    ) -> None:
        """The next `times` requests (whose path contains `path_contains`) get this answer instead of the real one. A
        `str` body is sent as an HTML page, as a proxy or a sleeping instance answers."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.queue += [Fault(status, headers, body, path_contains)] * times

    def take(self, request: Request) -> Response | None:
        for index, fault in enumerate(self.queue):
            if fault.path_contains in request.url.path:
                del self.queue[index]
                if isinstance(fault.body, str):
                    return HTMLResponse(fault.body, status_code=fault.status, headers=fault.headers)
                body = fault.body if fault.body is not None else {"errorMessages": ["injected failure"]}
                return JSONResponse(body, status_code=fault.status, headers=fault.headers)
        return None


HIBERNATING = (
    "<html><head><title>Instance Hibernating page</title></head><body><h1>Your instance is hibernating</h1>"
    "<p>Sign in to the developer portal to wake it up.</p></body></html>"
)
"""What a ServiceNow developer instance answers, with 200, to every API call while it sleeps."""


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    user, _, password = base64.b64decode(value).decode().partition(":")
    return user, password


def _adf_problems(document: Any, where: str) -> list[str]:
    """Jira REST v3 rejects rich-text fields that are not Atlassian Document Format."""
    if not isinstance(document, dict) or document.get("type") != "doc" or document.get("version") != 1:
        return [f"{where}: Operation value must be an Atlassian Document (type doc, version 1)"]
    problems = []
    for index, node in enumerate(document.get("content", [])):
        if not isinstance(node, dict) or "type" not in node:
            problems.append(f"{where}.content[{index}] has no type")
        for leaf in node.get("content", []) if isinstance(node, dict) else []:
            if leaf.get("type") == "text" and not isinstance(leaf.get("text"), str):
                problems.append(f"{where}: text nodes need text")
    return problems


@dataclass
class FakeJira:
    email: str = "bot@example.com"
    api_token: str = "jira-token"
    port: int = field(default_factory=free_port)
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    comments: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    transitions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    bearer_tokens: set[str] = field(default_factory=set)
    """OAuth 2.0 access tokens this Jira accepts (issued by a FakeAtlassian)."""
    bearer_calls: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _denied(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token in self.bearer_tokens:
            self.bearer_calls += 1
            return self.faults.take(request)
        if _basic(request) != (self.email, self.api_token):
            return JSONResponse({"errorMessages": ["Client must be authenticated to access this resource."]}, 401)
        return self.faults.take(request)

    async def create_issue(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        fields = (await request.json()).get("fields", {})
        errors: dict[str, str] = {}
        if not fields.get("project", {}).get("key") and not fields.get("project", {}).get("id"):
            errors["project"] = "Specify a valid project ID or key"
        if not fields.get("issuetype"):
            errors["issuetype"] = "Specify an issue type"
        if not isinstance(fields.get("summary"), str) or not fields["summary"] or len(fields["summary"]) > 255:
            errors["summary"] = "You must specify a summary of the issue (at most 255 characters)."
        for problem in _adf_problems(fields.get("description"), "description") if "description" in fields else []:
            errors["description"] = problem
        if any(" " in label for label in fields.get("labels", [])):
            errors["labels"] = "Labels cannot contain spaces"
        if errors:
            return JSONResponse({"errorMessages": [], "errors": errors}, status_code=400)
        number = len(self.issues) + 1
        key = f"{fields['project'].get('key', 'OPS')}-{number}"
        issue = {"id": str(10000 + number), "key": key, "self": f"{self.url}/rest/api/3/issue/{10000 + number}"}
        self.issues[key] = {**issue, "fields": fields, "status": "To Do"}
        self.created.append(fields)
        return JSONResponse(issue, status_code=201)

    async def search(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        jql = request.query_params.get("jql", "")
        label = jql.split('"')[1] if '"' in jql else ""
        found = [
            {"id": issue["id"], "key": key}
            for key, issue in self.issues.items()
            if label in issue["fields"].get("labels", [])
        ]
        return JSONResponse({"issues": found, "isLast": True})

    async def comment(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        key = request.path_params["key"]
        if key not in self.issues:
            return JSONResponse(
                {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, 404
            )
        body = await request.json()
        problems = _adf_problems(body.get("body"), "body")
        if problems:
            return JSONResponse({"errorMessages": problems, "errors": {}}, status_code=400)
        self.comments.append((key, body))
        return JSONResponse({"id": str(len(self.comments)), "body": body["body"]}, status_code=201)

    async def transitions_endpoint(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        key = request.path_params["key"]
        if key not in self.issues:
            return JSONResponse({"errorMessages": ["Issue does not exist"]}, 404)
        if request.method == "GET":
            return JSONResponse({"transitions": [{"id": "11", "name": "To Do"}, {"id": "31", "name": "Done"}]})
        body = await request.json()
        if body.get("transition", {}).get("id") not in {"11", "31"}:
            return JSONResponse({"errorMessages": ["Transition id is not valid"], "errors": {}}, status_code=400)
        self.transitions.append((key, body))
        self.issues[key]["status"] = "Done" if body["transition"]["id"] == "31" else "To Do"
        return Response(status_code=204)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/rest/api/3/issue", self.create_issue, methods=["POST"]),
                Route("/rest/api/3/search/jql", self.search, methods=["GET"]),
                Route("/rest/api/3/issue/{key}/comment", self.comment, methods=["POST"]),
                Route("/rest/api/3/issue/{key}/transitions", self.transitions_endpoint, methods=["GET", "POST"]),
            ]
        )


@dataclass
class FakeServiceNow:
    username: str = "signalcraft"
    password: str = "sn-password"
    port: int = field(default_factory=free_port)
    incidents: dict[str, dict[str, str]] = field(default_factory=dict)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _denied(self, request: Request) -> Response | None:
        if _basic(request) != (self.username, self.password):
            return JSONResponse(
                {
                    "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
                    "status": "failure",
                },
                401,
            )
        return self.faults.take(request)

    async def table(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        if request.method == "GET":
            query = request.query_params.get("sysparm_query", "")
            wanted = query.removeprefix("correlation_id=")
            found = [record for record in self.incidents.values() if record.get("correlation_id") == wanted]
            return JSONResponse({"result": found})
        body = await request.json()
        if not isinstance(body.get("short_description"), str) or not body["short_description"]:
            return JSONResponse({"error": {"message": "short_description is mandatory"}, "status": "failure"}, 400)
        sys_id = f"{len(self.incidents) + 1:032x}"
        record = {key: str(value) for key, value in body.items()} | {
            "sys_id": sys_id,
            "number": f"INC{len(self.incidents) + 1:07d}",
            "state": "1",
        }
        self.incidents[sys_id] = record
        return JSONResponse(
            {"result": record}, status_code=201, headers={"Location": f"{self.url}/api/now/table/incident/{sys_id}"}
        )

    async def record(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        sys_id = request.path_params["sys_id"]
        if sys_id not in self.incidents:
            return JSONResponse({"error": {"message": "No Record found"}, "status": "failure"}, 404)
        body = await request.json()
        self.updates.append((sys_id, body))
        self.incidents[sys_id].update({key: str(value) for key, value in body.items() if key != "work_notes"})
        return JSONResponse({"result": self.incidents[sys_id]})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/now/table/incident", self.table, methods=["GET", "POST"]),
                Route("/api/now/table/incident/{sys_id}", self.record, methods=["PATCH", "PUT"]),
            ]
        )


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class FakeAtlassian:
    """Atlassian's OAuth 2.0 (3LO) authorization server and API gateway, as published: /authorize (consent screen,
    then a redirect with code and state, or error=access_denied), /oauth/token (authorization_code with PKCE and
    refresh_token grants; rotating refresh tokens, the used one disabled; 403 invalid_grant "Unknown or invalid refresh
    token."; 401 access_denied for a wrong client), /oauth/token/accessible-resources, and /ex/jira/{cloudid}/... in
    front of a FakeJira that accepts the issued bearer tokens."""

    jira: FakeJira
    client_id: str = "signalcraft-oauth-app"
    client_secret: str = "oauth-app-secret"
    redirect_uris: set[str] = field(default_factory=set)
    site_url: str = "https://example-site.atlassian.net"
    cloud_id: str = "11111111-2222-3333-4444-555555555555"
    expires_in: int = 3600
    port: int = field(default_factory=free_port)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh_tokens: dict[str, bool] = field(default_factory=dict)
    """refresh token -> still usable."""
    access_tokens: set[str] = field(default_factory=set)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def _oauth_error(status: int, error: str, description: str) -> Response:
        return JSONResponse({"error": error, "error_description": description}, status_code=status)

    async def authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.authorize_requests.append(query)
        problems = []
        if query.get("client_id") != self.client_id:
            problems.append("unknown client_id")
        if query.get("redirect_uri") not in self.redirect_uris:
            problems.append("redirect_uri is not one of the app's callback URLs")
        if query.get("response_type") != "code" or query.get("audience") != "api.atlassian.com":
            problems.append("response_type=code and audience=api.atlassian.com are required")
        if "offline_access" not in query.get("scope", "").split():
            problems.append("no offline_access scope: no refresh token would be issued")
        if not query.get("state"):
            problems.append("state is required")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            problems.append("PKCE with S256 is required")
        if problems:
            return HTMLResponse(f"<h1>Something went wrong</h1><p>{'; '.join(problems)}</p>", status_code=400)
        fields = "".join(
            f'<input type="hidden" name="{key}" value="{html.escape(value)}">' for key, value in query.items()
        )
        return HTMLResponse(
            f"""<!doctype html><html lang="en"><head><title>Atlassian consent</title></head><body><main>
            <h1>SignalCraft is requesting access to your Atlassian account</h1>
            <p>Site: {html.escape(self.site_url)}. Scopes: {html.escape(query["scope"])}</p>
            <form method="post" action="/authorize/decision">{fields}
            <button name="decision" value="accept">Accept</button>
            <button name="decision" value="deny">Deny</button></form></main></body></html>"""
        )

    async def decision(self, request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        target = form["redirect_uri"]
        if form.get("decision") != "accept":
            query = urlencode(
                {
                    "error": "access_denied",
                    "error_description": "User did not authorize the request",
                    "state": form["state"],
                }
            )
            return RedirectResponse(f"{target}?{query}", status_code=302)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"redirect_uri": target, "challenge": form["code_challenge"], "client_id": form["client_id"]}
        return RedirectResponse(f"{target}?{urlencode({'code': code, 'state': form['state']})}", status_code=302)

    def _issue(self) -> Response:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access_tokens.add(access)
        self.jira.bearer_tokens.add(access)
        self.refresh_tokens[refresh] = True
        return JSONResponse(
            {
                "access_token": access,
                "expires_in": self.expires_in,
                "token_type": "Bearer",
                "refresh_token": refresh,
                "scope": "read:jira-work write:jira-work offline_access",
            }
        )

    async def token(self, request: Request) -> Response:
        body = await request.json() if "json" in request.headers.get("content-type", "") else dict(await request.form())
        body = {key: str(value) for key, value in body.items()}
        self.token_requests.append({key: value for key, value in body.items() if key != "client_secret"})
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return self._oauth_error(401, "access_denied", "Unauthorized")
        if body.get("grant_type") == "authorization_code":
            pending = self.codes.pop(body.get("code", ""), None)  # a code works once
            if pending is None:
                return self._oauth_error(403, "invalid_grant", "Invalid authorization code")
            if pending["redirect_uri"] != body.get("redirect_uri"):
                return self._oauth_error(403, "invalid_grant", "redirect_uri does not match the authorization")
            if _s256(body.get("code_verifier", "")) != pending["challenge"]:
                return self._oauth_error(403, "invalid_grant", "Invalid code_verifier")
            return self._issue()
        if body.get("grant_type") == "refresh_token":
            token = body.get("refresh_token", "")
            if not self.refresh_tokens.get(token):
                return self._oauth_error(403, "invalid_grant", "Unknown or invalid refresh token.")
            self.refresh_tokens[token] = False  # rotation: the used refresh token is disabled
            return self._issue()
        return self._oauth_error(
            400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token"
        )

    async def accessible_resources(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.access_tokens:
            return JSONResponse({"code": 401, "message": "Unauthorized"}, status_code=401)
        return JSONResponse(
            [
                {
                    "id": self.cloud_id,
                    "url": self.site_url,
                    "name": "example-site",
                    "scopes": ["read:jira-work", "write:jira-work"],
                    "avatarUrl": "https://site-admin-avatar-cdn.example/avatars/240/site.png",
                }
            ]
        )

    async def gateway(self, request: Request) -> Response:
        if request.path_params["cloud_id"] != self.cloud_id:
            return JSONResponse({"code": 404, "message": "No such site"}, status_code=404)
        path = "/" + request.path_params["rest"]
        async with httpx.AsyncClient(base_url=self.jira.url) as http:
            forwarded = await http.request(
                request.method,
                path,
                params=dict(request.query_params),
                content=await request.body(),
                headers={
                    k: v for k, v in request.headers.items() if k.lower() in {"authorization", "content-type", "accept"}
                },
            )
        return Response(forwarded.content, forwarded.status_code, media_type=forwarded.headers.get("content-type"))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/authorize", self.authorize, methods=["GET"]),
                Route("/authorize/decision", self.decision, methods=["POST"]),
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/oauth/token/accessible-resources", self.accessible_resources, methods=["GET"]),
                Route("/ex/jira/{cloud_id}/{rest:path}", self.gateway, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )


@contextmanager
def serving(fake: FakeJira | FakeServiceNow | FakeAtlassian) -> Iterator[Any]:
    with serving_in_thread(fake.app(), fake.port):
        yield fake
