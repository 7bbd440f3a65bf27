"""EscalationPolicy: who is notified, in which order, after which delay.

A target is a Schedule, User or Team resource of the same namespace (`scheduleRef`, `userRef`, `teamRef`: the policy
waits in ReferencesResolved=False until it is Ready), or a SignalCraft object by `type` and `id` or `name`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from signalcraft.api import specs
from signalcraft.api.rules import Rule
from signalcraft.controllers.common import CamelModel, LocalObjectReference, ManagedSpec
from signalcraft.controllers.derive import kubernetes_json, kubernetes_view, to_api_spec
from signalcraft.controllers.kind import DesiredState, ManagedKind, Reference, ResolvedReference

_TARGET = specs.EscalationTarget.model_fields
_TARGETS = specs.EscalationRule.model_fields["targets"]
_RULES = specs.EscalationPolicySpec.model_fields["rules"]
REFERENCE_KINDS = {
    "schedule_ref": ("Schedule", "schedules"),
    "user_ref": ("User", "users"),
    "team_ref": ("Team", "teams"),
}
"""A target's reference field → the kind (and plural) it names; the API's target type is the field's prefix."""


def _one_named(target: Any) -> bool:
    named = (target.id, target.name, target.schedule_ref, target.user_ref, target.team_ref)
    return sum(value is not None for value in named) == 1


class EscalationTargetRef(CamelModel):
    """Who a rule notifies."""

    type: specs.TargetType | None = Field(
        default=None, description=f"{_TARGET['type'].description} Only with id or name (a ...Ref implies it)."
    )
    id: str | None = Field(default=None, min_length=1, max_length=128, description=_TARGET["id"].description)
    name: str | None = Field(default=None, min_length=1, max_length=253, description=_TARGET["name"].description)
    schedule_ref: LocalObjectReference | None = Field(
        default=None, description="Schedule resource in the same namespace whose on-call is notified."
    )
    user_ref: LocalObjectReference | None = Field(default=None, description="User resource in the same namespace.")
    team_ref: LocalObjectReference | None = Field(default=None, description="Team resource in the same namespace.")

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="[has(self.id), has(self.name), has(self.schedule_ref), has(self.user_ref), has(self.team_ref)]"
            ".exists_one(x, x)",
            check=_one_named,
            message="a target names exactly one of id, name, scheduleRef, userRef or teamRef",
        ),
        Rule(
            cel="has(self.type) == (has(self.id) || has(self.name))",
            check=lambda target: (target.type is not None) == (target.id is not None or target.name is not None),
            message="type goes with id or name; a scheduleRef, userRef or teamRef says what it is itself",
        ),
    )

    def reference(self, field_path: str) -> Reference | None:
        for field, (kind, plural) in REFERENCE_KINDS.items():
            target = getattr(self, field)
            if target is not None:
                return Reference(kind, plural, target.name, field_path)
        return None


class RuleTargets(CamelModel):
    targets_: list[EscalationTargetRef] = Field(
        alias="targets", min_length=1, max_length=10, description=_TARGETS.description or "Who this rule notifies."
    )


if TYPE_CHECKING:
    EscalationRule = RuleTargets
else:
    EscalationRule = kubernetes_view(specs.EscalationRule, base=RuleTargets, exclude={"targets"})


class PolicyRules(ManagedSpec):
    rules_: list[EscalationRule] = Field(
        alias="rules",
        min_length=1,
        max_length=20,
        description=_RULES.description or "Ordered escalation steps; the first runs when an alert fires.",
    )


EscalationPolicySpec = kubernetes_view(
    specs.EscalationPolicySpec,
    base=PolicyRules,
    exclude={"rules"},
    names={"num_loops": "repeat"},  # the released CRD field; the API calls it num_loops (PagerDuty's name)
)


def _path(rule: int, target: int) -> str:
    return f"spec.rules[{rule}].targets[{target}]"


class EscalationPolicyKind(ManagedKind):
    kind = "EscalationPolicy"
    plural = "escalationpolicies"
    collection = "escalation-policies"
    short_names = ("scep",)
    spec_model = EscalationPolicySpec
    description = "An ordered set of escalation rules in SignalCraft, managed from Kubernetes."

    def references(self, spec: ManagedSpec) -> list[Reference]:
        assert isinstance(spec, PolicyRules)
        found = (
            target.reference(_path(i, j))
            for i, rule in enumerate(spec.rules_)
            for j, target in enumerate(rule.targets_)
        )
        return [reference for reference in found if reference is not None]

    def desired(self, spec: ManagedSpec, references: Mapping[str, ResolvedReference]) -> DesiredState:
        assert isinstance(spec, PolicyRules)
        body: dict[str, Any] = {}
        rules = []
        for i, rule in enumerate(spec.rules_):
            entry = rule.model_dump(mode="json", exclude={"targets_"}, exclude_none=True)
            targets = []
            for j, target in enumerate(rule.targets_):
                resolved = references.get(_path(i, j))
                if resolved is not None:
                    kind = next(field for field in REFERENCE_KINDS if getattr(target, field) is not None)
                    targets.append({"type": kind.removesuffix("_ref"), "name": resolved.remote_name})
                else:
                    targets.append(target.model_dump(mode="json", include={"type", "id", "name"}, exclude_none=True))
            entry["targets"] = targets
            rules.append(entry)
        body["rules"] = rules
        return DesiredState(spec=to_api_spec(spec, self.api_spec_model, body))

    def manifest_spec(self, remote_spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        shared = {key: value for key, value in remote_spec.items() if key not in {"rules"} and value is not None}
        body: dict[str, Any] = kubernetes_json(shared, self.spec_model)
        body["rules"] = [
            {
                "delayMinutes": rule["delay_minutes"],
                "targets": [
                    {key: value for key, value in target.items() if key in ("type", "id", "name")}
                    for target in rule.get("targets", [])
                ],
            }
            for rule in remote_spec.get("rules", [])
        ]
        return body
