"""The API's enums, bounds, patterns and defaults as one flat JSON document, generated from the spec models.

Other implementations of the contract check their input against this document instead of copying numbers by hand: the
Terraform provider embeds it (`terraform-provider-signalcraft/internal/provider/contract.json`) and builds its plan-time
validators and defaults from it. A test fails when the committed copy differs from what this module generates.
Keys are `<collection>.<field path>`, list items as `[]`: `escalation-policies.rules[].targets[].type`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from signalcraft.api.accounts import SCOPE_PATTERN, ApiKeyCreate, ServiceAccountCreate
from signalcraft.api.collections import COLLECTIONS, WORKSPACE
from signalcraft.api.envelope import ResourceWrite
from signalcraft.api.specs import NAME_PATTERN

CONSTRAINTS = ("enum", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "pattern", "default")


def _walk(schema: dict[str, Any], defs: dict[str, Any], path: str, out: dict[str, dict[str, Any]]) -> None:
    if "$ref" in schema:
        resolved = defs[schema["$ref"].rsplit("/", 1)[-1]]
        schema = {**resolved, **{key: value for key, value in schema.items() if key != "$ref"}}
    branches = [branch for branch in schema.get("anyOf", []) if branch.get("type") != "null"]
    if branches:
        own = {key: value for key, value in schema.items() if key != "anyOf"}
        for branch in branches:
            _walk({**branch, **own} if len(branches) == 1 else branch, defs, path, out)
        if len(branches) > 1 and "default" in own:
            out.setdefault(path, {})["default"] = own["default"]
        return
    entry = {key: schema[key] for key in CONSTRAINTS if key in schema}
    if schema.get("type") == "array":
        if entry:
            out.setdefault(path, {}).update(entry)
        _walk(schema.get("items", {}), defs, f"{path}[]", out)
    elif schema.get("type") == "object" or "properties" in schema:
        if "default" in entry and path:
            out.setdefault(path, {})["default"] = entry["default"]
        for name, prop in schema.get("properties", {}).items():
            _walk(prop, defs, f"{path}.{name}" if path else name, out)
    elif entry:
        out.setdefault(path, {}).update(entry)


def _fields(model: type[BaseModel], prefix: str) -> dict[str, dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    found: dict[str, dict[str, Any]] = {}
    _walk(schema, schema.get("$defs", {}), "", found)
    return {f"{prefix}.{path}": entry for path, entry in found.items()}


def contract_limits() -> dict[str, dict[str, Any]]:
    """Every constrained field of the configurable resources, the envelope, service accounts and API keys."""
    limits: dict[str, dict[str, Any]] = {
        "envelope.name": {"minLength": 1, "maxLength": 253, "pattern": NAME_PATTERN},
        "api-keys.scopes[]": {"pattern": SCOPE_PATTERN},
    }
    envelope = _fields(ResourceWrite, "envelope")
    limits.update({key: value for key, value in envelope.items() if not key.startswith("envelope.spec")})
    limits.update(_fields(ServiceAccountCreate, "service-accounts"))
    limits.update(_fields(ApiKeyCreate, "api-keys"))
    models: dict[str, type[BaseModel]] = {name: collection.spec_model for name, collection in COLLECTIONS.items()}
    models[WORKSPACE.name] = WORKSPACE.spec_model
    for collection, model in models.items():
        limits.update(_fields(model, collection))
    return dict(sorted(limits.items()))


def contract_document() -> str:
    return json.dumps(contract_limits(), indent=2, sort_keys=True) + "\n"
