"""CustomResourceDefinitions generated from the operator's pydantic spec and status models.

The committed YAML under ``crds/`` is this module's output; a test fails when they differ, so the schema Kubernetes
enforces at admission is always the one the operator validates with.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import BaseModel

from signalcraft.api.rules import Rule
from signalcraft.controllers.common import CamelModel
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.registry import KINDS

_DROPPED_KEYWORDS = {"title", "discriminator", "examples"}


def _cel_rules(model: type[BaseModel], names: dict[str, str]) -> list[dict[str, str]]:
    """The model's Kubernetes-only CEL rules, then its cross-field rules (shared with the API) in JSON names."""
    kubernetes_only = getattr(model, "cel_rules", None)
    rules = list(kubernetes_only) if isinstance(kubernetes_only, list) else []
    shared: tuple[Rule, ...] = getattr(model, "cross_field_rules", ())
    return rules + [rule.kubernetes(names) for rule in shared]


def _json_names(models: dict[str, type[BaseModel]]) -> dict[str, str]:
    """Python field name -> JSON name, over every model of one CRD (CEL rules are written with Python names)."""
    names: dict[str, str] = {}
    for model in models.values():
        for field_name, info in model.model_fields.items():
            alias = info.serialization_alias or info.alias or field_name
            if names.setdefault(field_name, alias) != alias:
                raise ValueError(f"{field_name} is spelled both {names[field_name]} and {alias} in one CRD")
    return names


def _key_rule(keys: dict[str, Any]) -> dict[str, str]:
    """Structural schemas cannot constrain map keys (no propertyNames): the key's schema becomes a CEL rule."""
    tests: list[str] = []
    said: list[str] = []
    if "enum" in keys:
        tests.append(f"k in [{', '.join(repr(str(value)) for value in keys['enum'])}]")
        said.append("be one of " + ", ".join(str(value) for value in keys["enum"]))
    if "pattern" in keys:
        tests.append(f"k.matches(r'{keys['pattern']}')")
        said.append(f"match {keys['pattern']}")
    if "maxLength" in keys:
        tests.append(f"size(k) <= {keys['maxLength']}")
        said.append(f"be at most {keys['maxLength']} characters")
    if "minLength" in keys:
        tests.append(f"size(k) >= {keys['minLength']}")
        said.append(f"be at least {keys['minLength']} characters")
    unknown = keys.keys() - {"enum", "pattern", "maxLength", "minLength", "type"}
    if unknown or not tests:
        raise ValueError(f"cannot express map keys constrained by {sorted(keys)} in CEL")
    return {"rule": f"self.all(k, {' && '.join(tests)})", "message": "keys must " + " and ".join(said)}


def _models_by_title(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Every model reachable from `model`, by the title pydantic gives its $defs entry."""
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[BaseModel]] = [model]
    while pending:
        current = pending.pop()
        if current.__name__ in found:
            continue
        found[current.__name__] = current
        for field in current.model_fields.values():
            for candidate in _annotation_models(field.annotation):
                pending.append(candidate)
    return found


def _annotation_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    models: list[type[BaseModel]] = []
    for argument in getattr(annotation, "__args__", ()):
        models.extend(_annotation_models(argument))
    return models


def _structural(
    schema: dict[str, Any], defs: dict[str, Any], models: dict[str, type[BaseModel]], names: dict[str, str]
) -> dict[str, Any]:
    """Turn pydantic's JSON Schema into a Kubernetes structural schema (no $ref, no null unions, no titles)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        resolved = _structural(copy.deepcopy(defs[name]), defs, models, names)
        for key in ("description", "default"):
            if key in schema:
                resolved[key] = schema[key]
        return resolved
    if "anyOf" in schema:
        branches = [branch for branch in schema["anyOf"] if branch.get("type") != "null"]
        if len(branches) != 1:
            raise ValueError(f"cannot express a union of {len(branches)} types in a structural schema")
        merged = {key: value for key, value in schema.items() if key not in _DROPPED_KEYWORDS and key != "anyOf"}
        resolved = _structural(branches[0], defs, models, names)
        resolved.update({key: value for key, value in merged.items() if key != "default" or value is not None})
        return resolved
    if "patternProperties" in schema:
        # A map whose keys have a pattern: the values' schema, and the keys' pattern as a CEL rule.
        schema = dict(schema)
        ((key_pattern, values),) = schema.pop("patternProperties").items()
        schema["additionalProperties"] = values
        schema["propertyNames"] = {"pattern": key_pattern}
    result: dict[str, Any] = {}
    validations: list[dict[str, str]] = []
    for key, value in schema.items():
        if key in _DROPPED_KEYWORDS or key == "$defs":
            continue
        if key == "propertyNames":
            validations.append(_key_rule(value))
            continue
        if key == "const":
            result["enum"] = [value]
        elif key == "properties":
            result["properties"] = {field: _structural(sub, defs, models, names) for field, sub in value.items()}
        elif key == "items":
            result["items"] = _structural(value, defs, models, names)
        elif key == "additionalProperties":
            if value is False:
                continue
            result["additionalProperties"] = (
                _structural(value, defs, models, names) if isinstance(value, dict) else value
            )
        elif key == "default" and value is None:
            continue
        elif key == "maxItems" and schema.get("type") == "object":
            result["maxProperties"] = value
        elif key == "minItems" and schema.get("type") == "object":
            result["minProperties"] = value
        else:
            result[key] = value
    if result.get("properties") == {}:
        # An object with no fields: the API server would drop an empty `properties` and then differ from crds/, and
        # it would admit any field in it (unknown fields of an empty object are not reported): none is allowed.
        del result["properties"]
        if schema.get("additionalProperties") is False:
            result["maxProperties"] = 0
    if result.get("type") == "object" and "title" in schema and schema["title"] in models:
        validations += _cel_rules(models[schema["title"]], names)
    if validations:
        result["x-kubernetes-validations"] = validations
    return result


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    models = _models_by_title(model)
    return _structural(raw, defs, models, _json_names(models))


def _condition_column(name: str, condition: str) -> dict[str, Any]:
    return {"name": name, "type": "string", "jsonPath": f'.status.conditions[?(@.type=="{condition}")].status'}


def _status_schema(kind: ManagedKind) -> dict[str, Any]:
    schema = model_schema(kind.status_model)
    schema["description"] = "Observed state, written only by the operator (kstatus-compliant)."
    # Objects nobody has reconciled yet read as in progress (not Current) to kstatus, Argo CD and Flux.
    schema["default"] = {
        "observedGeneration": 0,
        "conditions": [
            {"type": "Ready", "status": "Unknown", "reason": "Pending", "message": "waiting for the operator"},
            {"type": "Reconciling", "status": "True", "reason": "Pending", "message": "waiting for the operator"},
        ],
    }
    return schema


def build_crd(kind: ManagedKind) -> dict[str, Any]:
    spec_schema = model_schema(kind.spec_model)
    spec_schema["description"] = kind.description
    columns = [
        _condition_column("Ready", "Ready"),
        _condition_column("Synced", "Synced"),
        {"name": "Remote-ID", "type": "string", "jsonPath": ".status.remoteId"},
        *[dict(column) for column in kind.extra_printer_columns],
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{kind.group}", "labels": {"app.kubernetes.io/part-of": "signalcraft"}},
        "spec": {
            "group": kind.group,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": kind.categories,
            },
            "versions": [
                {
                    "name": kind.version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": kind.description,
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": _status_schema(kind),
                            },
                        }
                    },
                }
            ],
        },
    }


def render(kind: ManagedKind) -> str:
    return yaml.safe_dump(build_crd(kind), sort_keys=False, width=120)


def crd_files() -> dict[str, str]:
    return {f"{kind.group}_{kind.plural}.yaml": render(kind) for kind in KINDS}


@click.command("crds")
@click.option(
    "--write",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one YAML file per CRD into this directory instead of printing them.",
)
def crds_command(directory: Path | None) -> None:
    """Print (or write) the CustomResourceDefinitions generated from the spec models."""
    files = crd_files()
    if directory is None:
        click.echo("---\n".join(files.values()), nl=False)
        return
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
        click.echo(directory / name)


__all__ = ["CamelModel", "build_crd", "crd_files", "crds_command", "model_schema"]
