"""RoutingRule: if an incoming event matches its conditions, apply its actions (route to an AlertPolicy, change the
severity, suppress); rules run by ascending priority and the first match wins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from signalcraft.api import specs
from signalcraft.controllers.common import CamelModel, LocalObjectReference, ManagedSpec, cel
from signalcraft.controllers.derive import kubernetes_json, kubernetes_view, to_api_spec
from signalcraft.controllers.kind import DesiredState, ManagedKind, Reference, ResolvedReference

ALERT_POLICY_FIELD = "spec.actions.alertPolicyRef"
_CONDITION = specs.RoutingCondition.model_fields
_ITEMS = specs.RoutingConditions.model_fields["items"]

ConditionField = Literal["summary", "source", "severity", "dedup_key", "labels", "integration.type", "integration.name"]
ConditionOperator = Literal["equals", "contains", "starts_with", "ends_with", "matches", "exists", "in"]
"""The contract's own literals (a unit test holds them equal); repeated because the contract checks a condition's
operands in one Python validator, which has no CEL twin to derive."""


class RoutingConditionRef(CamelModel):
    """One test on an incoming event. Kubernetes schemas have no string-or-list type: a list of values (for `in`)
    is `values`, one value is `value`."""

    field: ConditionField = Field(description="What the condition looks at; labels needs key.")
    key: str | None = Field(default=None, min_length=1, max_length=253, description="The label, for field labels.")
    operator: ConditionOperator = Field(description="How the field is compared; exists takes no value, in values.")
    value: str | None = Field(default=None, max_length=1024, description="The one value the field is compared with.")
    values: list[Annotated[str, Field(max_length=1024)]] | None = Field(
        default=None, max_length=100, description="The values, for operator in."
    )

    cel_rules: ClassVar[list[dict[str, str]]] = [
        cel("(self.field == 'labels') == has(self.key)", "key names the label, and only the labels field takes one"),
        cel("(self.operator == 'in') == has(self.values)", "operator in takes values (a list), and only it does"),
        cel(
            "(self.operator == 'exists' || self.operator == 'in') != has(self.value)",
            "every operator but exists and in takes one value",
        ),
    ]

    def api(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", include={"field", "key", "operator"}, exclude_none=True)
        value = self.values if self.values is not None else self.value
        if value is not None:
            body["value"] = value
        return body


class ConditionItems(CamelModel):
    items_: list[RoutingConditionRef] = Field(
        alias="items", min_length=1, max_length=20, description=_ITEMS.description or "The tests, all or any."
    )


if TYPE_CHECKING:
    RoutingConditions = ConditionItems
else:
    RoutingConditions = kubernetes_view(specs.RoutingConditions, base=ConditionItems, exclude={"items"})


class AlertPolicyTarget(CamelModel):
    alert_policy_ref: LocalObjectReference | None = Field(
        default=None, description="AlertPolicy in the same namespace that matching events are routed to."
    )


if TYPE_CHECKING:
    RoutingActions = AlertPolicyTarget
else:
    RoutingActions = kubernetes_view(specs.RoutingActions, base=AlertPolicyTarget, exclude={"alert_policy"})
_ACTIONS = specs.RoutingRuleSpec.model_fields["actions"]


class RoutingRuleActions(ManagedSpec):
    conditions_: RoutingConditions = Field(alias="conditions", description="Which events the rule matches.")
    actions_: RoutingActions = Field(
        alias="actions", description=_ACTIONS.description or "What happens to a matching event."
    )


RoutingRuleSpec = kubernetes_view(specs.RoutingRuleSpec, base=RoutingRuleActions, exclude={"actions", "conditions"})


class RoutingRuleKind(ManagedKind):
    kind = "RoutingRule"
    plural = "routingrules"
    collection = "routing-rules"
    short_names = ("scrr",)
    spec_model = RoutingRuleSpec
    description = "A routing rule in SignalCraft (if an event matches, then act), managed from Kubernetes."
    extra_printer_columns = ({"name": "Priority", "type": "integer", "jsonPath": ".spec.priority"},)

    def references(self, spec: ManagedSpec) -> list[Reference]:
        assert isinstance(spec, RoutingRuleActions)
        target = spec.actions_.alert_policy_ref
        if target is None:
            return []
        return [Reference("AlertPolicy", "alertpolicies", target.name, ALERT_POLICY_FIELD)]

    def desired(self, spec: ManagedSpec, references: Mapping[str, ResolvedReference]) -> DesiredState:
        assert isinstance(spec, RoutingRuleActions)
        body: dict[str, Any] = {}
        actions = spec.actions_.model_dump(mode="json", exclude={"alert_policy_ref"}, exclude_none=True)
        policy = references.get(ALERT_POLICY_FIELD)
        # Always sent, so a policy attached outside Kubernetes reads as drift.
        actions["alert_policy"] = {"name": policy.remote_name} if policy is not None else None
        body["actions"] = actions
        conditions = spec.conditions_.model_dump(mode="json", exclude={"items_"}, exclude_none=True)
        conditions["items"] = [item.api() for item in spec.conditions_.items_]
        body["conditions"] = conditions
        return DesiredState(spec=to_api_spec(spec, self.api_spec_model, body))

    def manifest_spec(self, remote_spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        shared = {
            key: value
            for key, value in remote_spec.items()
            if key not in {"conditions", "actions"} and value is not None
        }
        body: dict[str, Any] = kubernetes_json(shared, self.spec_model)
        conditions = dict(remote_spec.get("conditions") or {})
        items = []
        for item in conditions.get("items", []):
            entry = {key: item[key] for key in ("field", "key", "operator") if item.get(key) is not None}
            if isinstance(item.get("value"), list):
                entry["values"] = item["value"]
            elif item.get("value") is not None:
                entry["value"] = item["value"]
            items.append(entry)
        body["conditions"] = {"match": conditions.get("match", "all"), "items": items}
        actions = dict(remote_spec.get("actions") or {})
        policy = actions.pop("alert_policy", None)
        body["actions"] = {key: value for key, value in actions.items() if value is not None}
        if isinstance(policy, Mapping) and policy.get("name"):
            body["actions"]["alertPolicyRef"] = {"name": str(policy["name"]).removeprefix(f"{namespace}.")}
        return body
