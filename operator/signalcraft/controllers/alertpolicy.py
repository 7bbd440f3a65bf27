"""AlertPolicy: where events with a routing key land, how severe they are, and who gets escalated to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from signalcraft.api import specs
from signalcraft.controllers.common import LocalObjectReference, ManagedSpec
from signalcraft.controllers.derive import kubernetes_view
from signalcraft.controllers.escalationpolicy import EscalationPolicyKind
from signalcraft.controllers.kind import DesiredState, ManagedKind, Reference, ResolvedReference

ESCALATION_POLICY_FIELD = "spec.escalationPolicyRef"


class AlertPolicyReferences(ManagedSpec):
    """The Kubernetes side of an AlertPolicy: the API's `escalation_policy` is a reference to a CR here."""

    escalation_policy_ref: LocalObjectReference | None = Field(
        default=None, description="EscalationPolicy in the same namespace that is notified when this policy fires."
    )


AlertPolicySpec = kubernetes_view(specs.AlertPolicySpec, base=AlertPolicyReferences, exclude={"escalation_policy"})


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
        assert isinstance(spec, AlertPolicyReferences)
        if spec.escalation_policy_ref is None:
            return []
        target = EscalationPolicyKind
        return [Reference(target.kind, target.plural, spec.escalation_policy_ref.name, ESCALATION_POLICY_FIELD)]

    def desired(self, spec: ManagedSpec, references: Mapping[str, ResolvedReference]) -> DesiredState:
        body = dict(super().desired(spec, references).spec)
        escalation = references.get(ESCALATION_POLICY_FIELD)
        # Always sent, so an escalation policy attached outside Kubernetes reads as drift.
        body["escalation_policy"] = {"name": escalation.remote_name} if escalation is not None else None
        return DesiredState(spec=body)

    def manifest_spec(self, remote_spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        body = super().manifest_spec(remote_spec, namespace)
        reference = remote_spec.get("escalation_policy")
        if isinstance(reference, Mapping) and reference.get("name"):
            body["escalationPolicyRef"] = {"name": str(reference["name"]).removeprefix(f"{namespace}.")}
        return body
