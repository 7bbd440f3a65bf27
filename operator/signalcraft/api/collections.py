"""The registry of configurable collections: URL segment, kind, id prefix, spec model, write body and references.

The server registers its routes from this registry, the client types resources by it, and the OpenAPI document names
its schemas after `kind`. A new collection is one `register(...)` call here (plus its spec model in `specs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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
    UserSpec,
    WorkspaceSpec,
)

SpecT = TypeVar("SpecT", bound=BaseModel, default=BaseModel)


@dataclass(frozen=True)
class Ref:
    """One reference inside a spec: where it is (a JSON pointer into the request) and what it must name."""

    pointer: str
    collection: str
    key: str
    """`name` or `id`."""
    value: str


TARGET_COLLECTIONS = {"schedule": "schedules", "user": "users", "team": "teams"}
"""Escalation target `type` → the collection the target lives in."""


def _reference_at(spec: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    value: Any = spec
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else None


def escalation_targets(spec: Mapping[str, Any]) -> Iterator[Ref]:
    for i, rule in enumerate(spec.get("rules", [])):
        for j, target in enumerate(rule.get("targets", [])):
            key = "name" if "name" in target else "id"
            yield Ref(f"/spec/rules/{i}/targets/{j}/{key}", TARGET_COLLECTIONS[target["type"]], key, target[key])


def layer_users(spec: Mapping[str, Any]) -> Iterator[Ref]:
    for i, layer in enumerate(spec.get("layers", [])):
        for j, user in enumerate(layer.get("users", [])):
            yield Ref(f"/spec/layers/{i}/users/{j}", "users", "name", user)


def team_members(spec: Mapping[str, Any]) -> Iterator[Ref]:
    for i, member in enumerate(spec.get("members", [])):
        yield Ref(f"/spec/members/{i}/user", "users", "name", member["user"])


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
    list_references: Callable[[Mapping[str, Any]], Iterator[Ref]] | None = None
    """References inside lists (escalation targets, schedule layers' users, team members)."""

    @property
    def scope(self) -> str:
        """The resource part of this collection's scopes, e.g. `escalation_policies:write`."""
        return self.name.replace("-", "_")

    def references_in(self, spec: Mapping[str, Any]) -> list[Ref]:
        """Every reference in a (valid) spec of this collection, each with its JSON pointer."""
        found: list[Ref] = []
        for path, target in self.references:
            reference = _reference_at(spec, path)
            if reference is not None:
                key = "name" if "name" in reference else "id"
                found.append(Ref("/spec/" + path.replace(".", "/"), target, key, reference[key]))
        if self.list_references is not None:
            found += self.list_references(spec)
        return found


COLLECTIONS: dict[str, Collection[Any]] = {}
"""Every configurable collection by URL segment, in registration order."""


def register(collection: Collection[SpecT]) -> Collection[SpecT]:
    if collection.name in COLLECTIONS:
        raise ValueError(f"collection {collection.name!r} is registered twice")
    COLLECTIONS[collection.name] = collection
    return collection


USERS = register(Collection("users", "User", "usr", UserSpec))
TEAMS = register(Collection("teams", "Team", "team", TeamSpec, list_references=team_members))
SCHEDULES = register(Collection("schedules", "Schedule", "sch", ScheduleSpec, list_references=layer_users))
ESCALATION_POLICIES = register(
    Collection(
        "escalation-policies", "EscalationPolicy", "esc", EscalationPolicySpec, list_references=escalation_targets
    )
)
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

WORKSPACE: Collection[Any] = Collection("workspace", "Workspace", "ws", WorkspaceSpec)
"""The one workspace (the organisation's settings) at `/v1/workspace`; not in COLLECTIONS (no name, no listing)."""
WORKSPACE_NAME = "workspace"
