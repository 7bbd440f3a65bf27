"""The registry of configurable collections: URL segment, kind, id prefix, spec model, write body and references.

The server registers its routes from this registry, the client types resources by it, and the OpenAPI document names
its schemas after `kind`. A new collection is one `register(...)` call here (plus its spec model in `specs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic

from pydantic import BaseModel
from typing_extensions import TypeVar

from signalcraft.api.envelope import IntegrationWrite, ResourceWrite
from signalcraft.api.specs import (
    AlertPolicySpec,
    EscalationPolicySpec,
    IntegrationSpec,
    RoutingRuleSpec,
    ScheduleSpec,
    TeamSpec,
)

SpecT = TypeVar("SpecT", bound=BaseModel, default=BaseModel)


@dataclass(frozen=True)
class Collection(Generic[SpecT]):
    name: str
    """URL segment, e.g. `escalation-policies`."""
    kind: str
    """Singular name used in the OpenAPI document, e.g. `EscalationPolicy`."""
    id_prefix: str
    spec_model: type[SpecT]
    write_model: type[ResourceWrite] = ResourceWrite
    references: tuple[tuple[str, str], ...] = ()
    """(dotted path of a reference object inside `spec`, the collection it points into)."""

    @property
    def scope(self) -> str:
        """The resource part of this collection's scopes, e.g. `escalation_policies:write`."""
        return self.name.replace("-", "_")


COLLECTIONS: dict[str, Collection[Any]] = {}
"""Every configurable collection by URL segment, in registration order."""


def register(collection: Collection[SpecT]) -> Collection[SpecT]:
    if collection.name in COLLECTIONS:
        raise ValueError(f"collection {collection.name!r} is registered twice")
    COLLECTIONS[collection.name] = collection
    return collection


TEAMS = register(Collection("teams", "Team", "team", TeamSpec))
SCHEDULES = register(Collection("schedules", "Schedule", "sch", ScheduleSpec))
ESCALATION_POLICIES = register(Collection("escalation-policies", "EscalationPolicy", "esc", EscalationPolicySpec))
ALERT_POLICIES = register(
    Collection(
        "alert-policies",
        "AlertPolicy",
        "pol",
        AlertPolicySpec,
        references=(("escalation_policy", ESCALATION_POLICIES.name),),
    )
)
ROUTING_RULES = register(
    Collection(
        "routing-rules",
        "RoutingRule",
        "rr",
        RoutingRuleSpec,
        references=(("actions.alert_policy", ALERT_POLICIES.name),),
    )
)
INTEGRATIONS = register(Collection("integrations", "Integration", "int", IntegrationSpec, write_model=IntegrationWrite))
