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

from signalcraft.controllers.common import CamelModel
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.registry import KINDS

_DROPPED_KEYWORDS = {"title", "discriminator", "examples"}


def _cel_rules(model: type[BaseModel]) -> list[dict[str, str]]:
    rules = getattr(model, "cel_rules", None)
    return list(rules) if isinstance(rules, list) else []


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


def _structural(schema: dict[str, Any], defs: dict[str, Any], models: dict[str, type[BaseModel]]) -> dict[str, Any]:
    """Turn pydantic's JSON Schema into a Kubernetes structural schema (no $ref, no null unions, no titles)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        resolved = _structural(copy.deepcopy(defs[name]), defs, models)
        for key in ("description", "default"):
            if key in schema:
                resolved[key] = schema[key]
        return resolved
    if "anyOf" in schema:
        branches = [branch for branch in schema["anyOf"] if branch.get("type") != "null"]
        if len(branches) != 1:
            raise ValueError(f"cannot express a union of {len(branches)} types in a structural schema")
        merged = {key: value for key, value in schema.items() if key not in _DROPPED_KEYWORDS and key != "anyOf"}
        resolved = _structural(branches[0], defs, models)
        resolved.update({key: value for key, value in merged.items() if key != "default" or value is not None})
        return resolved
    unsupported = {"patternProperties", "propertyNames"} & schema.keys()
    if unsupported:
        raise ValueError(f"Kubernetes structural schemas do not support {sorted(unsupported)}: use a CEL rule")
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYWORDS or key == "$defs":
            continue
        if key == "const":
            result["enum"] = [value]
        elif key == "properties":
            result["properties"] = {name: _structural(sub, defs, models) for name, sub in value.items()}
        elif key == "items":
            result["items"] = _structural(value, defs, models)
        elif key == "additionalProperties":
            if value is False:
                continue
            result["additionalProperties"] = _structural(value, defs, models) if isinstance(value, dict) else value
        elif key == "default" and value is None:
            continue
        elif key == "maxItems" and schema.get("type") == "object":
            result["maxProperties"] = value
        elif key == "minItems" and schema.get("type") == "object":
            result["minProperties"] = value
        else:
            result[key] = value
    if result.get("properties") == {}:
        # An object with no fields: the API server would drop an empty `properties` and then differ from crds/.
        del result["properties"]
    if result.get("type") == "object" and "title" in schema and schema["title"] in models:
        rules = _cel_rules(models[schema["title"]])
        if rules:
            result["x-kubernetes-validations"] = rules
    return result


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    return _structural(raw, defs, _models_by_title(model))


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
