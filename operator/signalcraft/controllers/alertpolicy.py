"""AlertPolicy: where events with a routing key land, how severe they are, and who gets escalated to."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import Field

from signalcraft.api.specs import Severity
from signalcraft.controllers.common import CamelModel, LocalObjectReference, ManagedSpec, cel
from signalcraft.controllers.escalationpolicy import EscalationPolicyKind
from signalcraft.controllers.kind import DesiredState, ManagedKind, Reference, ResolvedReference

ESCALATION_POLICY_FIELD = "spec.escalationPolicyRef"


class ComparisonOperator(StrEnum):
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EQ = "eq"
    NE = "ne"


class MetricThresholdCondition(CamelModel):
    type: Literal["metric_threshold"] = Field(description="Condition kind; metric_threshold compares a metric.")
    metric: str = Field(min_length=1, max_length=253, description="Metric name, e.g. cpu_usage.")
    operator: ComparisonOperator = Field(description="How the metric is compared with value: gt|gte|lt|lte|eq|ne.")
    value: float = Field(description="Threshold the metric is compared with.")
    for_: str | None = Field(
        default=None,
        alias="for",
        pattern=r"^([0-9]+(s|m|h))+$",
        max_length=32,
        description="How long the condition must hold before firing, e.g. 5m.",
    )


class AlertPolicySpec(ManagedSpec):
    description: str | None = Field(default=None, max_length=1024, description="What this policy is for.")
    severity: Severity = Field(description="Severity of the alerts this policy raises: critical|error|warning|info.")
    routing_key: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][-_.A-Za-z0-9]*$",
        description="Events sent with this routing key are handled by this policy.",
    )
    conditions: list[MetricThresholdCondition] = Field(
        default_factory=list, max_length=20, description="All conditions must hold for the policy to fire."
    )
    escalation_policy_ref: LocalObjectReference | None = Field(
        default=None, description="EscalationPolicy in the same namespace that is notified when this policy fires."
    )

    cel_rules: ClassVar[list[dict[str, str]]] = [
        *ManagedSpec.cel_rules,
        cel(
            "!has(self.conditions) || self.conditions.all(c, self.conditions.exists_one(d, d.metric == c.metric "
            "&& d.operator == c.operator))",
            "each metric/operator pair may appear only once in conditions",
            fieldPath=".conditions",
        ),
    ]


class AlertPolicyKind(ManagedKind):
    kind = "AlertPolicy"
    plural = "alertpolicies"
    collection = "alert-policies"
    short_names = ("scap",)
    spec_model = AlertPolicySpec
    description = "An alert policy in SignalCraft (routing key, severity, conditions), managed from Kubernetes."
    extra_printer_columns = (
        {"name": "Severity", "type": "string", "jsonPath": ".spec.severity"},
        {"name": "Routing-Key", "type": "string", "jsonPath": ".spec.routingKey", "priority": 1},
    )

    def references(self, spec: ManagedSpec) -> list[Reference]:
        assert isinstance(spec, AlertPolicySpec)
        if spec.escalation_policy_ref is None:
            return []
        target = EscalationPolicyKind
        return [Reference(target.kind, target.plural, spec.escalation_policy_ref.name, ESCALATION_POLICY_FIELD)]

    def desired(self, spec: ManagedSpec, references: Mapping[str, ResolvedReference]) -> DesiredState:
        assert isinstance(spec, AlertPolicySpec)
        escalation = references.get(ESCALATION_POLICY_FIELD)
        body: dict[str, object] = {
            "severity": spec.severity.value,
            "routing_key": spec.routing_key,
            "conditions": [
                condition.model_dump(mode="json", by_alias=True, exclude_none=True) for condition in spec.conditions
            ],
            "escalation_policy": {"name": escalation.remote_name} if escalation is not None else None,
        }
        if spec.description is not None:
            body["description"] = spec.description
        return DesiredState(spec=body)

    def manifest_spec(self, remote_spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        body = super().manifest_spec(remote_spec, namespace)
        reference = body.pop("escalationPolicy", None)
        if isinstance(reference, dict) and reference.get("name"):
            body["escalationPolicyRef"] = {"name": str(reference["name"]).removeprefix(f"{namespace}.")}
        return body
