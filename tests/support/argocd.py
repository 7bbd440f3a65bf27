"""Argo CD's health check for our kinds, evaluated as Argo CD evaluates a script from argocd-cm.

Argo CD runs gopher-lua (Lua 5.1) with only the base, table, package and a reduced os library open: a script from
argocd-cm gets no `string` or `math` unless `resource.customizations.useOpenLibs` is set. The runtime here is Lua 5.1
with the same libraries (and no os at all) removed, the resource in the global `obj`, and the script's return value read
as Argo CD reads it, so a script that passes these tests cannot fail in Argo CD for a missing library.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lupa import lua51

HEALTH_LUA = Path(__file__).resolve().parents[2] / "config" / "argocd" / "health.lua"
ARGO_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended"}

_RESTRICT = """
debug.setmetatable("", nil)
string, math, io, os, debug, coroutine, load, loadstring, dofile, loadfile, require, module = nil
"""
"""Remove the string metatable first (method calls like s:len() would otherwise still reach the string library)."""


def health(obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) as Argo CD would show them for `obj`."""
    return evaluate(HEALTH_LUA.read_text(), obj)


def evaluate(script: str, obj: dict[str, Any]) -> tuple[str, str]:
    """Run a health script on `obj` as Argo CD runs one from argocd-cm."""
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True, register_eval=False, register_builtins=False)
    runtime.execute(_RESTRICT)
    # Argo CD hands the script the object decoded from JSON: maps and arrays become tables, null becomes nil.
    runtime.globals().obj = _to_lua(runtime, json.loads(json.dumps(obj)))
    result = runtime.execute(script)
    status, message = str(result["status"]), str(result["message"] or "")
    assert status in ARGO_STATUSES, f"Argo CD would show Unknown for {status!r}"
    return status, message


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return runtime.table_from({key: _to_lua(runtime, item) for key, item in value.items() if item is not None})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, item) for item in value])
    return value
