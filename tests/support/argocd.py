"""Argo CD's health check for our kinds, evaluated by a real Lua 5.1 runtime (Argo CD runs gopher-lua, Lua 5.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lupa import lua51

HEALTH_LUA = Path(__file__).resolve().parents[2] / "config" / "argocd" / "health.lua"


def health(obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) as Argo CD would show them for `obj`."""
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    script = "return function(obj)\n" + HEALTH_LUA.read_text() + "\nend"
    check = runtime.execute(script)
    result = check(_to_lua(runtime, json.loads(json.dumps(obj))))
    return str(result["status"]), str(result["message"] or "")


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return runtime.table_from({key: _to_lua(runtime, item) for key, item in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, item) for item in value])
    return value
