"""What the contract tests walk: every cross-field rule of every collection, the Kubernetes view of a contract model,
valid API specs of each kind, and invalid ones generated from the API models' JSON Schema."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from signalcraft.api import specs
from signalcraft.api.collections import COLLECTIONS
from signalcraft.api.rules import Rule
from signalcraft.controllers import derive
from signalcraft.controllers.registry import KINDS


def _models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    pending = [model]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        yield current
        for info in current.model_fields.values():
            nested = derive._model_in(info.annotation)
            pending.extend(_all_models(info.annotation))
            if nested is not None:
                pending.append(nested)


def _all_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in getattr(annotation, "__args__", ()):
        found.extend(_all_models(argument))
    return found


def _rules() -> list[tuple[type[BaseModel], Rule]]:
    found: list[tuple[type[BaseModel], Rule]] = []
    seen: set[type[BaseModel]] = set()
    for collection in COLLECTIONS.values():
        for model in _models(collection.spec_model):
            if model in seen:
                continue
            seen.add(model)
            found += [(model, rule) for rule in getattr(model, "cross_field_rules", ())]
    return found


RULES = _rules()
"""(contract model, rule) for every rule reachable from a collection's spec model."""


def view_for(api_model: type[BaseModel]) -> type[BaseModel] | None:
    """The CRD model (view) of a contract model, if a CRD carries it."""
    for kind in KINDS:
        if COLLECTIONS[kind.collection].spec_model is api_model:
            return kind.spec_model
    return derive._VIEWS.get(api_model)


def kind_of(api_model: type[BaseModel]) -> Any:
    """The kind whose CRD carries `api_model`, and the path of field names to it from the spec."""
    for kind in KINDS:
        path = _path_to(COLLECTIONS[kind.collection].spec_model, api_model, kind.spec_model)
        if path is not None:
            return kind, path
    return None, None


def _path_to(model: type[BaseModel], target: type[BaseModel], view: type[BaseModel]) -> list[str] | None:
    if model is target:
        return []
    for name, info in model.model_fields.items():
        if name not in view.model_fields:
            continue  # not in the CRD (replaced by a Kubernetes reference)
        for nested in _all_models(info.annotation):
            nested_view = derive._VIEWS.get(nested)
            if nested_view is None:
                continue
            rest = _path_to(nested, target, nested_view)
            if rest is not None:
                return [name, *rest]
    return None


def embed(base: dict[str, Any], path: list[str], value: dict[str, Any]) -> dict[str, Any]:
    """`base` with the object at `path` (lists: their first item) replaced by `value`."""
    if not path:
        return copy.deepcopy(value)
    result = copy.deepcopy(base)
    holder: Any = result
    for key in path[:-1]:
        holder = holder[key]
        if isinstance(holder, list):
            holder = holder[0]
    last = path[-1]
    if isinstance(holder.get(last), list):
        holder[last][0] = copy.deepcopy(value)
    else:
        holder[last] = copy.deepcopy(value)
    return result


_CONDITION = {"type": "metric_threshold", "metric": "cpu", "operator": "gte", "value": 90, "for": "5m"}
_JIRA = {
    "base_url": "https://example.atlassian.net",
    "project_key": "OPS",
    "issue_type": "Incident",
    "auto_create_severity": "error",
    "transition_on_resolve": True,
    "resolve_transition": "Done",
    "reopen_on_ticket_reopen": False,
    "custom_fields": {"customfield_10001": "{severity}"},
}
_SETTINGS: dict[specs.IntegrationType, dict[str, Any]] = {
    specs.IntegrationType.ALERTMANAGER: {"default_severity": "warning"},
    specs.IntegrationType.GRAFANA: {"default_severity": "info"},
    specs.IntegrationType.AWS_CLOUDWATCH: {
        "allowed_topic_arns": ["arn:aws:sns:eu-west-1:123456789012:alerts"],
        "auto_confirm_subscriptions": False,
    },
    specs.IntegrationType.AZURE_MONITOR: {"severity_map": {"Sev0": "critical", "Sev3": "info"}},
    specs.IntegrationType.GCP_MONITORING: {"auth": "basic"},
    specs.IntegrationType.GENERIC_WEBHOOK: {
        "summary_field": "title",
        "severity_field": "level",
        "dedup_key_field": "id",
        "status_field": "state",
    },
    specs.IntegrationType.JIRA: _JIRA,
    specs.IntegrationType.SERVICENOW: {
        "instance_url": "https://example.service-now.com",
        "assignment_group": "ops",
        "caller": "signalcraft",
        "auto_create_severity": "critical",
        "transition_on_resolve": False,
        "close_code": "Solved",
        "reopen_on_ticket_reopen": True,
    },
    specs.IntegrationType.EVENTS_API: {},
}

SAMPLES: list[tuple[str, dict[str, Any]]] = [
    (
        "EscalationPolicy",
        {
            "description": "database on-call",
            "rules": [
                {"delay_minutes": 0, "targets": [{"type": "schedule", "name": "dba"}]},
                {"delay_minutes": 30, "targets": [{"type": "user", "id": "usr_1"}, {"type": "team", "name": "ops"}]},
            ],
            "num_loops": 2,
        },
    ),
    (
        "AlertPolicy",
        {
            "description": "CPU",
            "severity": "critical",
            "routing_key": "db-cpu",
            "conditions": [_CONDITION, {**_CONDITION, "operator": "lt", "value": 0.5}],
            "escalation_policy": {"name": "team-a.db-oncall"},
        },
    ),
    *(
        ("Integration", {"type": kind.value, specs.settings_key(kind): settings})
        for kind, settings in _SETTINGS.items()
    ),
    ("User", {"email": "ada@example.com", "role": "responder", "time_zone": "Europe/Berlin"}),
    ("Team", {"description": "the DBAs", "members": []}),
    # Schedule layers and RoutingRule conditions/actions take Kubernetes shapes in a CR (userRef, alertPolicyRef,
    # `values`), so their API form is not a CR spec; their own fields are covered by the rule examples and e2e tests.
]
"""Valid API specs of each kind, every optional field set somewhere."""

BASES: dict[str, list[dict[str, Any]]] = {}
for _kind, _spec in SAMPLES:
    _base = {key: value for key, value in _spec.items() if key != "escalation_policy"}  # a CR names a CR instead
    BASES.setdefault(_kind, []).append(_base)


# ---------------------------------------------------------------- invalid examples generated from the JSON Schema


def invalid_variants(model: type[BaseModel], value: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what is wrong, spec) for each way of breaking one field of `value` that `model`'s JSON Schema refuses."""
    document = model.model_json_schema()
    defs = document.get("$defs", {})
    yield from _break(document, value, defs, "")


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = {**defs[schema["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    if "anyOf" in schema:
        branches = [branch for branch in schema["anyOf"] if branch.get("type") != "null"]
        if len(branches) == 1:
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**merged, **_resolve(branches[0], defs)}
    return schema


def _failing_string(pattern: str, max_length: int | None) -> str:
    for candidate in ("!", "A B", "-x", "x-", "..", "customfield_x", "ftp://x", "5x", "Z"):
        if not re.search(pattern, candidate) and (max_length is None or len(candidate) <= max_length):
            return candidate
    raise AssertionError(f"no string failing {pattern}")


def _break(schema: dict[str, Any], value: Any, defs: dict[str, Any], where: str) -> Iterator[tuple[str, Any]]:
    schema = _resolve(schema, defs)
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        yield f"{where}: not in enum", "zz-not-allowed"
    if kind == "string":
        if "maxLength" in schema:
            yield f"{where}: longer than maxLength", "a" * (schema["maxLength"] + 1)
        if schema.get("minLength", 0) >= 1:
            yield f"{where}: shorter than minLength", ""
        if "pattern" in schema:
            yield f"{where}: not matching the pattern", _failing_string(schema["pattern"], schema.get("maxLength"))
        yield f"{where}: not a string", 7
    elif kind in ("integer", "number"):
        if "maximum" in schema:
            yield f"{where}: above maximum", schema["maximum"] + 1
        if "minimum" in schema:
            yield f"{where}: below minimum", schema["minimum"] - 1
        if kind == "integer":
            yield f"{where}: not an integer", 1.5
        yield f"{where}: not a number", "many"
    elif kind == "boolean":
        yield f"{where}: not a boolean", {"yes": True}
    elif kind == "array" and isinstance(value, list):
        if "maxItems" in schema and value:
            yield f"{where}: more than maxItems", [value[0]] * (schema["maxItems"] + 1)
        if schema.get("minItems", 0) >= 1:
            yield f"{where}: fewer than minItems", []
        yield f"{where}: not a list", "one"
        if value:
            for reason, broken in _break(schema.get("items", {}), value[0], defs, f"{where}/0"):
                yield reason, [broken, *value[1:]]
    elif kind == "object" and isinstance(value, dict):
        for name in schema.get("required", []):
            if name in value:
                yield f"{where}/{name}: required", {k: v for k, v in value.items() if k != name}
        if schema.get("additionalProperties") is False:
            yield f"{where}: unknown field", {**value, "zz_unknown": 1}
        if "maxProperties" in schema:
            extra = {f"k{i}": next(iter(value.values()), "x") for i in range(schema["maxProperties"] + 1)}
            yield f"{where}: more than maxProperties", {**value, **extra}
        for keys in (schema.get("propertyNames"), *(schema.get("patternProperties") or {}).keys()):
            if keys is not None and value:
                yield f"{where}: key not allowed", {**value, "zz-key": next(iter(value.values()))}
        yield f"{where}: not an object", ["x"]
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                for reason, broken in _break(sub, value[name], defs, f"{where}/{name}"):
                    yield reason, {**value, name: broken}
        values_schema = schema.get("additionalProperties")
        if not isinstance(values_schema, dict):
            values_schema = next(iter((schema.get("patternProperties") or {}).values()), None)
        if isinstance(values_schema, dict) and value:
            key, first = next(iter(value.items()))
            for reason, broken in _break(values_schema, first, defs, f"{where}/{key}"):
                yield reason, {**value, key: broken}
