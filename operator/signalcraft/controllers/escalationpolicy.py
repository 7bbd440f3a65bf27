"""EscalationPolicy: who is notified, in which order, after which delay."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from signalcraft.controllers.common import CamelModel, ManagedSpec, cel
from signalcraft.controllers.kind import DesiredState, ManagedKind, ResolvedReference


class TargetType(StrEnum):
    SCHEDULE = "schedule"
    USER = "user"
    TEAM = "team"


class EscalationTarget(CamelModel):
    type: TargetType = Field(description="What is notified: the on-call of a schedule, a user, or a team.")
    id: str | None = Field(default=None, min_length=1, max_length=128, description="SignalCraft id of the target.")
    name: str | None = Field(default=None, min_length=1, max_length=253, description="SignalCraft name of the target.")

    cel_rules: ClassVar[list[dict[str, str]]] = [
        cel("has(self.id) != has(self.name)", "a target names exactly one of id or name")
    ]


class EscalationRule(CamelModel):
    delay_minutes: int = Field(
        ge=0, le=1440, description="Minutes to wait after the previous rule (or the alert) before notifying."
    )
    targets: list[EscalationTarget] = Field(min_length=1, max_length=10, description="Who this rule notifies.")


class EscalationPolicySpec(ManagedSpec):
    description: str | None = Field(default=None, max_length=1024, description="What this policy is for.")
    rules: list[EscalationRule] = Field(
        min_length=1, max_length=20, description="Ordered escalation steps; the first runs when an alert fires."
    )
    repeat: int = Field(default=0, ge=0, le=9, description="How many times the whole policy loops when nobody acts.")


class EscalationPolicyKind(ManagedKind):
    kind = "EscalationPolicy"
    plural = "escalationpolicies"
    collection = "escalation-policies"
    short_names = ("scep",)
    spec_model = EscalationPolicySpec
    description = "An ordered set of escalation rules in SignalCraft, managed from Kubernetes."

    def desired(self, spec: ManagedSpec, references: Mapping[str, ResolvedReference]) -> DesiredState:
        assert isinstance(spec, EscalationPolicySpec)
        body: dict[str, object] = {
            "rules": [
                {
                    "delay_minutes": rule.delay_minutes,
                    "targets": [target.model_dump(mode="json", exclude_none=True) for target in rule.targets],
                }
                for rule in spec.rules
            ],
            "num_loops": spec.repeat,
        }
        if spec.description is not None:
            body["description"] = spec.description
        return DesiredState(spec=body)

    def manifest_spec(self, remote_spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        body = super().manifest_spec(remote_spec, namespace)
        body["repeat"] = body.pop("numLoops", 0)
        return body
