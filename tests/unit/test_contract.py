"""The contract is declared once: CRD models are views of the API models, rules hold on both, mappings round-trip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from tests.support.contract import RULES, SAMPLES, view_for

from signalcraft.api.collections import COLLECTIONS
from signalcraft.api.rules import Rule, rename_fields
from signalcraft.api.specs import AzureMonitorSettings, EscalationTarget, MetricThreshold
from signalcraft.controllers.derive import kubernetes_json
from signalcraft.controllers.escalationpolicy import EscalationTargetRef
from signalcraft.controllers.kind import ResolvedReference
from signalcraft.controllers.registry import BY_KIND, KINDS
from signalcraft.crds import model_schema


def _accepts(model: type[BaseModel], value: Any) -> bool:
    try:
        model.model_validate(value)
    except ValidationError:
        return False
    return True


def _examples() -> Iterator[tuple[str, type[BaseModel], Rule, dict[str, Any], bool]]:
    for model, rule in RULES:
        for index, example in enumerate(rule.valid):
            yield f"{model.__name__}:{rule.message}:valid{index}", model, rule, dict(example), True
        for index, example in enumerate(rule.invalid):
            yield f"{model.__name__}:{rule.message}:invalid{index}", model, rule, dict(example), False


EXAMPLES = list(_examples())


def test_every_rule_has_examples_both_ways() -> None:
    assert len(RULES) >= 14
    for model, rule in RULES:
        assert rule.valid, f"{model.__name__}: {rule.message}"
        assert rule.invalid, f"{model.__name__}: {rule.message}"


@pytest.mark.parametrize(("model", "rule", "example", "valid"), [e[1:] for e in EXAMPLES], ids=[e[0] for e in EXAMPLES])
def test_rule_holds_the_same_in_the_api_model_and_the_crd_view(
    model: type[BaseModel], rule: Rule, example: dict[str, Any], valid: bool
) -> None:
    assert _accepts(model, example) is valid
    view = view_for(model)
    if view is not None:
        assert _accepts(view, kubernetes_json(example, view)) is valid
        assert rule in view.cross_field_rules


def test_the_disagreements_found_in_review_are_gone() -> None:
    # An escalation target naming both id and name: refused by the Python models now, as CEL always did.
    # (The CRD's target also takes scheduleRef/userRef/teamRef, so it is its own model with the same rule widened.)
    target_view = view_for(EscalationTarget) or EscalationTargetRef
    assert not _accepts(target_view, {"type": "user", "id": "u1", "name": "alice"})
    # severityMap keys other than Sev0..Sev4: refused at admission by a rule generated from the key type.
    schema = model_schema(BY_KIND["Integration"].spec_model)
    severity_map = schema["properties"]["azureMonitor"]["properties"]["severityMap"]
    assert severity_map["x-kubernetes-validations"][0]["rule"] == (
        "self.all(k, k in ['Sev0', 'Sev1', 'Sev2', 'Sev3', 'Sev4'])"
    )
    assert not _accepts(AzureMonitorSettings, {"severity_map": {"foo": "critical"}})


def test_rule_field_names_are_translated_to_each_schema() -> None:
    names = {"routing_key": "routingKey", "num_loops": "repeat", "metric": "metric"}
    assert (
        rename_fields("has(self.routing_key) && self.num_loops > 0", names) == "has(self.routingKey) && self.repeat > 0"
    )
    assert rename_fields("self.x.exists_one(d, d.metric == 'a.routing_key')", names) == (
        "self.x.exists_one(d, d.metric == 'a.routing_key')"
    )


@pytest.mark.parametrize("kind", KINDS, ids=[kind.kind for kind in KINDS])
def test_a_crd_spec_has_every_api_field_once_with_the_same_bounds(kind: Any) -> None:
    api_model = COLLECTIONS[kind.collection].spec_model
    view = kind.spec_model
    # A kind's own model of an API field whose items reference other resources is named `<field>_` (alias <field>).
    remodelled = {name.removesuffix("_") for name in view.model_fields if name.endswith("_")}
    kubernetes_only = {"escalation_policy_ref", "credentials", "write_connection_secret_to_ref"}
    kubernetes_only |= {f"{name}_" for name in remodelled}
    replaced = ({"escalation_policy"} if kind.kind == "AlertPolicy" else set()) | remodelled
    for name in remodelled:
        assert view.model_fields[f"{name}_"].alias == name
    managed = {"deletion_policy", "drift_policy", "suspend", "remote_name"}
    assert set(view.model_fields) - managed - kubernetes_only == set(api_model.model_fields) - replaced
    for name in set(api_model.model_fields) - replaced:
        assert view.model_fields[name].metadata == api_model.model_fields[name].metadata, name
        assert view.model_fields[name].description == api_model.model_fields[name].description, name
        assert view.model_fields[name].default == api_model.model_fields[name].default, name


@pytest.mark.parametrize(("kind_name", "api_spec"), SAMPLES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(SAMPLES)])
def test_the_per_kind_mapping_round_trips(kind_name: str, api_spec: dict[str, Any]) -> None:
    """API spec -> CR spec (export) -> API spec (operator, plan): the same object, references included."""
    kind = BY_KIND[kind_name]
    manifest_spec = kind.manifest_spec(api_spec, "team-a")
    parsed = kind.parse_spec(manifest_spec)
    references = {
        reference.field_path: ResolvedReference(reference, f"team-a.{reference.name}")
        for reference in kind.references(parsed)
    }
    desired = dict(kind.desired(parsed, references).spec)
    expected = kind.api_spec_model.model_validate(api_spec).model_dump(mode="json", by_alias=True, exclude_none=True)
    if kind_name == "AlertPolicy":
        expected.setdefault("escalation_policy", None)
    assert desired == expected


def test_numbers_keep_their_kind() -> None:
    condition = {"type": "metric_threshold", "metric": "cpu", "operator": "gt", "value": 90}
    assert MetricThreshold.model_validate(condition).model_dump(mode="json")["value"].__class__ is int
    assert MetricThreshold.model_validate({**condition, "value": 90.5}).model_dump(mode="json")["value"] == 90.5
    for bad in (float("nan"), float("inf"), -float("inf"), 2**53, -(2**53), 1e300):
        assert not _accepts(MetricThreshold, {**condition, "value": bad}), bad
