"""The kinds this operator manages."""

from __future__ import annotations

from signalcraft.controllers.alertpolicy import AlertPolicyKind
from signalcraft.controllers.escalationpolicy import EscalationPolicyKind
from signalcraft.controllers.integration import IntegrationKind
from signalcraft.controllers.kind import ManagedKind

KINDS: tuple[ManagedKind, ...] = (EscalationPolicyKind(), AlertPolicyKind(), IntegrationKind())
BY_KIND: dict[str, ManagedKind] = {kind.kind: kind for kind in KINDS}
BY_PLURAL: dict[str, ManagedKind] = {kind.plural: kind for kind in KINDS}
