"""Schedule: who is on call when — layers of people rotating in turns, in a time zone, with handoff notifications."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from signalcraft.api import specs
from signalcraft.controllers.common import CamelModel, ManagedSpec
from signalcraft.controllers.derive import kubernetes_json, kubernetes_view, to_api_spec
from signalcraft.controllers.kind import DesiredState, ManagedKind, Reference, ResolvedReference
from signalcraft.controllers.people import PersonRef

_USERS = specs.ScheduleLayer.model_fields["users"]
_LAYERS = specs.ScheduleSpec.model_fields["layers"]


class LayerPeople(CamelModel):
    users_: list[PersonRef] = Field(
        alias="users",
        min_length=1,
        max_length=100,
        description=_USERS.description or "Who takes turns in this layer, in order.",
    )


if TYPE_CHECKING:
    ScheduleLayer = LayerPeople
else:
    ScheduleLayer = kubernetes_view(specs.ScheduleLayer, base=LayerPeople, exclude={"users"})


class ScheduleLayers(ManagedSpec):
    layers_: list[ScheduleLayer] = Field(
        alias="layers",
        min_length=1,
        max_length=10,
        description=_LAYERS.description
        or "Rotation layers; a later layer overrides an earlier one where it has someone.",
    )


ScheduleSpec = kubernetes_view(specs.ScheduleSpec, base=ScheduleLayers, exclude={"layers"})


def _path(layer: int, user: int) -> str:
    return f"spec.layers[{layer}].users[{user}].userRef"


class ScheduleKind(ManagedKind):
    kind = "Schedule"
    plural = "schedules"
    collection = "schedules"
    short_names = ("scsch",)
    spec_model = ScheduleSpec
    description = "An on-call schedule in SignalCraft (layers, rotation, handoff, time zone), managed from Kubernetes."
    extra_printer_columns = ({"name": "Time-Zone", "type": "string", "jsonPath": ".spec.timeZone"},)

    def references(self, spec: ManagedSpec) -> list[Reference]:
        assert isinstance(spec, ScheduleLayers)
        found = (
            person.reference(_path(i, j))
            for i, layer in enumerate(spec.layers_)
            for j, person in enumerate(layer.users_)
        )
        return [reference for reference in found if reference is not None]

    def desired(self, spec: ManagedSpec, references: Mapping[str, ResolvedReference]) -> DesiredState:
        assert isinstance(spec, ScheduleLayers)
        body: dict[str, Any] = {}
        resolved = dict(references)
        layers = []
        for i, layer in enumerate(spec.layers_):
            entry = layer.model_dump(mode="json", exclude={"users_"}, exclude_none=True)
            entry["users"] = [person.signalcraft_name(_path(i, j), resolved) for j, person in enumerate(layer.users_)]
            layers.append(entry)
        body["layers"] = layers
        return DesiredState(spec=to_api_spec(spec, self.api_spec_model, body))

    def manifest_spec(self, remote_spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        shared = {key: value for key, value in remote_spec.items() if key not in {"layers"} and value is not None}
        body: dict[str, Any] = kubernetes_json(shared, self.spec_model)
        body["layers"] = [
            {
                "name": layer["name"],
                "start": layer["start"],
                "rotationTurnLengthSeconds": layer["rotation_turn_length_seconds"],
                "users": [{"name": user} for user in layer.get("users", [])],
            }
            for layer in remote_spec.get("layers", [])
        ]
        return body
