"""Team: people who share on-call duties; members are User resources (userRef) or SignalCraft users by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from signalcraft.api import specs
from signalcraft.controllers.common import ManagedSpec
from signalcraft.controllers.derive import kubernetes_json, kubernetes_view, to_api_spec
from signalcraft.controllers.kind import DesiredState, ManagedKind, Reference, ResolvedReference
from signalcraft.controllers.people import PersonRef

if TYPE_CHECKING:
    TeamMember = PersonRef
else:
    TeamMember = kubernetes_view(specs.TeamMember, base=PersonRef, exclude={"user"})
_MEMBERS = specs.TeamSpec.model_fields["members"]


class TeamMembers(ManagedSpec):
    members_: list[TeamMember] = Field(
        default_factory=list,
        alias="members",
        max_length=200,
        description=_MEMBERS.description or "The team's members and their role in it.",
    )


TeamSpec = kubernetes_view(specs.TeamSpec, base=TeamMembers, exclude={"members"})


def _path(index: int) -> str:
    return f"spec.members[{index}].userRef"


class TeamKind(ManagedKind):
    kind = "Team"
    plural = "teams"
    collection = "teams"
    short_names = ("scteam",)
    spec_model = TeamSpec
    description = "A team in SignalCraft (its members and their roles), managed from Kubernetes."

    def references(self, spec: ManagedSpec) -> list[Reference]:
        assert isinstance(spec, TeamMembers)
        found = (member.reference(_path(index)) for index, member in enumerate(spec.members_))
        return [reference for reference in found if reference is not None]

    def desired(self, spec: ManagedSpec, references: Mapping[str, ResolvedReference]) -> DesiredState:
        assert isinstance(spec, TeamMembers)
        body: dict[str, Any] = {}
        body["members"] = [
            {
                **member.model_dump(mode="json", include={"role"}),
                "user": member.signalcraft_name(_path(index), dict(references)),
            }
            for index, member in enumerate(spec.members_)
        ]
        return DesiredState(spec=to_api_spec(spec, self.api_spec_model, body))

    def manifest_spec(self, remote_spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        shared = {key: value for key, value in remote_spec.items() if key not in {"members"} and value is not None}
        body: dict[str, Any] = kubernetes_json(shared, self.spec_model)
        body["members"] = [
            {"name": member["user"], "role": member.get("role", "member")} for member in remote_spec.get("members", [])
        ]
        return body
