"""EscalationPolicy: who is notified, in which order, after which delay."""

from __future__ import annotations

from signalcraft.api import specs
from signalcraft.controllers.common import ManagedSpec
from signalcraft.controllers.derive import kubernetes_view
from signalcraft.controllers.kind import ManagedKind

EscalationPolicySpec = kubernetes_view(
    specs.EscalationPolicySpec,
    base=ManagedSpec,
    names={"num_loops": "repeat"},  # the released CRD field; the API calls it num_loops (PagerDuty's name)
)


class EscalationPolicyKind(ManagedKind):
    kind = "EscalationPolicy"
    plural = "escalationpolicies"
    collection = "escalation-policies"
    short_names = ("scep",)
    spec_model = EscalationPolicySpec
    description = "An ordered set of escalation rules in SignalCraft, managed from Kubernetes."
