"""The pages under /ui: the integrations catalog, setup wizards, sign-in. Server-rendered; htmx only enhances them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from signalcraft.server.ui import catalog, wizard
from signalcraft.server.ui.web import render

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("")
async def home() -> Response:
    return RedirectResponse("/ui/integrations", status_code=303)


@router.get("/integrations")
async def integrations(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    wanted = category if category in {c.value for c in catalog.Category} else ""
    entries = catalog.search(q.strip(), wanted or None)
    return render(
        request,
        "catalog.html",
        {
            "section": "integrations",
            "viewer": None,
            "csrf_token": "",
            "installed": [],
            "query": q,
            "category": wanted,
            "entries": entries,
            "total": len(catalog.CATALOG),
        },
    )


def _entry(kind: str) -> catalog.CatalogEntry:
    entry = catalog.BY_TYPE.get(kind)
    if entry is None:
        raise HTTPException(404, f"no integration type {kind!r}")
    return entry


@router.get("/integrations/new/{kind}")
async def new_integration(request: Request, kind: str) -> HTMLResponse:
    entry = _entry(kind)
    return render(
        request,
        "new.html",
        {
            "section": "integrations",
            "viewer": None,
            "csrf_token": "",
            "entry": entry,
            "settings": wizard.SETTINGS[entry.type],
            "form": {},
            "error": None,
        },
    )
