"""Routers that turn a request away by the literal start of their paths before FastAPI tries their routes.

FastAPI matches a request against every route of every included router in turn, and for each route it saves and
restores request-scope state around a regular expression match: with the API's ~80 operations that was the largest
cost of a small request (more than authentication, the database read and serialization together). A path can only
match a route whose literal part (everything before the first `{`) it starts with, so a router whose routes' literal
parts are none of the path's beginnings cannot match it: `PrefixRouter` answers "no match" for it at once. Which route
of a router matches, and every rule FastAPI applies to it, stay FastAPI's.

Include these routers without an include-time `prefix` (the literal parts are read from the routes' own paths).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope


class PrefixRouter(APIRouter):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._starts: tuple[str, ...] = ()
        self._counted = -1
        """How many routes `_starts` was computed for (routes are only ever added, at import)."""

    def _literal_starts(self) -> tuple[str, ...]:
        """The routes' literal path beginnings; empty (no shortcut) when a route has no plain path."""
        if self._counted != len(self.routes):
            paths = [getattr(route, "path", None) for route in self.routes]
            plain = all(isinstance(path, str) for path in paths)
            self._starts = tuple(sorted({str(path).split("{", 1)[0] for path in paths})) if plain else ()
            self._counted = len(self.routes)
        return self._starts

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        starts = self._literal_starts()
        if starts and scope["type"] == "http" and not get_route_path(scope).startswith(starts):
            return Match.NONE, {}
        return super().matches(scope)
