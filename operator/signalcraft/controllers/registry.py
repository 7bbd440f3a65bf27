"""The kinds this operator manages."""

from __future__ import annotations

from signalcraft.controllers.alertpolicy import AlertPolicyKind
from signalcraft.controllers.escalationpolicy import EscalationPolicyKind
from signalcraft.controllers.integration import IntegrationKind
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.routingrule import RoutingRuleKind
from signalcraft.controllers.schedule import ScheduleKind
from signalcraft.controllers.team import TeamKind
from signalcraft.controllers.user import UserKind

KINDS: tuple[ManagedKind, ...] = (
    UserKind(),
    TeamKind(),
    ScheduleKind(),
    EscalationPolicyKind(),
    AlertPolicyKind(),
    RoutingRuleKind(),
    IntegrationKind(),
)
"""In dependency order: what a kind may reference comes before it."""
BY_KIND: dict[str, ManagedKind] = {kind.kind: kind for kind in KINDS}
BY_PLURAL: dict[str, ManagedKind] = {kind.plural: kind for kind in KINDS}
