"""Rendering of the UI's pages: Jinja2 templates (autoescaped), security headers, vendored static assets.

Every page answers with a strict Content-Security-Policy: scripts and styles only from our own static files (no inline
script, no inline style, no eval), no framing, forms only to ourselves. htmx is configured (in a meta tag, which is
data, not script) not to inject its indicator styles and not to evaluate anything, so it runs under that policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from signalcraft.server.ui import catalog

HTMX_FILE = "vendor/htmx-2.0.11.min.js"
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
"""SHA-256 of dist/htmx.min.js in the npm package htmx.org 2.0.11 (see static/vendor/README.md)."""


def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    """`form_targets`: origins a form may lead to besides ours (Chromium checks form-action on the redirect that
    follows a POST too, and "Connect Jira" redirects to Atlassian's authorization server)."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "connect-src 'self'",
            " ".join(("form-action 'self'", *form_targets)),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
HTMX_CONFIG = (
    '{"includeIndicatorStyles": false, "allowEval": false, "allowScriptTags": false, "selfRequestsOnly": true, '
    '"historyCacheSize": 0}'
)


class VendoredAssetError(RuntimeError):
    """A vendored file does not have the hash it was vendored with."""


def static_root() -> str:
    return str(resources.files("signalcraft.server.ui").joinpath("static"))


def verify_vendored() -> None:
    """Refuse to serve a vendored script that is not byte-for-byte the one we checked in."""
    data = resources.files("signalcraft.server.ui").joinpath("static", *HTMX_FILE.split("/")).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != HTMX_SHA256:
        raise VendoredAssetError(f"{HTMX_FILE} has SHA-256 {digest}, expected {HTMX_SHA256}")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("signalcraft.server.ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        htmx_file=HTMX_FILE,
        htmx_config=HTMX_CONFIG,
        categories=list(catalog.Category),
    )
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    page = environment().get_template(template).render(request=request, **context)
    policy = {}
    oauth = request.app.state.signalcraft.jira_oauth
    if oauth is not None:
        parts = urlsplit(oauth.auth_url)
        policy["Content-Security-Policy"] = content_security_policy((f"{parts.scheme}://{parts.netloc}",))
    return HTMLResponse(page, status_code=status_code, headers={**SECURITY_HEADERS, **policy, **(headers or {})})
