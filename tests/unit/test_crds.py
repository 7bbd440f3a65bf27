"""The committed CRDs are the generator's output, and the schemas carry what `kubectl explain` and admission need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from signalcraft.controllers.kind import ResolvedReference
from signalcraft.controllers.registry import BY_KIND, KINDS
from signalcraft.crds import build_crd, crd_files

REPO = Path(__file__).resolve().parents[2]


def test_committed_crds_match_the_generator() -> None:
    generated = crd_files()
    committed = {path.name: path.read_text() for path in (REPO / "crds").glob("*.yaml")}
    assert committed == generated, "crds/ is stale: run `make crds` and commit the result"


def _walk(schema: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for name, child in schema.get("properties", {}).items():
        found.extend(_walk(child, f"{path}.{name}"))
    if "items" in schema:
        found.extend(_walk(schema["items"], f"{path}[]"))
    if isinstance(schema.get("additionalProperties"), dict):
        found.extend(_walk(schema["additionalProperties"], f"{path}{{}}"))
    return found


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.kind)
def test_every_spec_and_status_field_is_described_and_structural(kind: Any) -> None:
    schema = build_crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for section in ("spec", "status"):
        for path, node in _walk(schema["properties"][section], section):
            if not path.endswith(("[]", "{}")):
                assert node.get("description"), f"{kind.kind} {path} has no description"
            assert "type" in node, f"{kind.kind} {path} has no type (not structural)"
            assert not {"$ref", "anyOf", "title"} & node.keys(), f"{kind.kind} {path} is not structural"
            if node["type"] == "string" and "enum" not in node and path.startswith("spec."):
                assert "maxLength" in node or "pattern" in node, f"{kind.kind} {path} is an unbounded string"
            if node["type"] == "array":
                assert "maxItems" in node, f"{kind.kind} {path} is an unbounded list"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.kind)
def test_printer_columns_and_names(kind: Any) -> None:
    crd = build_crd(kind)
    columns = [column["name"] for column in crd["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns[:3] == ["Ready", "Synced", "Remote-ID"]
    assert columns[-1] == "Age"
    names = crd["spec"]["names"]
    assert names["categories"] == ["signalcraft"]
    assert names["shortNames"]


@pytest.mark.parametrize("sample", sorted((REPO / "config" / "samples").glob("*.yaml")), ids=lambda p: p.name)
def test_samples_validate_with_the_spec_models(sample: Path) -> None:
    for document in yaml.safe_load_all(sample.read_text()):
        kind = BY_KIND[document["kind"]]
        spec = kind.parse_spec(document["spec"])
        # References resolved as the engine resolves them (to the referenced resource's SignalCraft name).
        resolved = {ref.field_path: ResolvedReference(ref, f"demo.{ref.name}") for ref in kind.references(spec)}
        assert kind.desired(spec, resolved).spec


def test_seed_example_maps_to_the_api_in_snake_case() -> None:
    document = yaml.safe_load((REPO / "config" / "samples" / "alertpolicy.yaml").read_text())
    kind = BY_KIND["AlertPolicy"]
    desired = kind.desired(kind.parse_spec(document["spec"]), {}).spec
    assert desired["severity"] == "critical"
    assert desired["routing_key"] == "db-team"
    assert desired["conditions"] == [{"type": "metric_threshold", "metric": "cpu_usage", "operator": "gt", "value": 90}]


def test_chart_crds_match_the_generator() -> None:
    committed = {
        path.name: path.read_text()
        for path in (REPO / "helm" / "signalcraft-operator" / "files" / "crds").glob("*.yaml")
    }
    assert committed == crd_files(), "the chart's CRDs are stale: run `make crds` and commit the result"
