"""User: a person in SignalCraft, invited when the resource is created; deletion keeps them by default (Orphan)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from signalcraft.api import Resource, specs
from signalcraft.controllers.common import DeletionPolicy, ManagedSpec, ManagedStatus
from signalcraft.controllers.derive import kubernetes_view
from signalcraft.controllers.kind import ManagedKind


class PersonManaged(ManagedSpec):
    """People outlive the manifests that invited them: their history stays, so deletion orphans unless asked."""

    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.ORPHAN,
        description=(
            "Orphan (the default for people) releases the user and keeps them, with their history, in SignalCraft; "
            "Delete removes the user with the resource."
        ),
    )


UserSpec = kubernetes_view(specs.UserSpec, base=PersonManaged)


class UserStatus(ManagedStatus):
    invite_state: str | None = Field(
        default=None, max_length=32, description="invited until the person first signs in, then active."
    )


class UserKind(ManagedKind):
    kind = "User"
    plural = "users"
    collection = "users"
    short_names = ("scusr",)
    spec_model = UserSpec
    status_model = UserStatus
    description = "A person in SignalCraft (invited with a role), managed from Kubernetes."
    extra_printer_columns = (
        {"name": "Email", "type": "string", "jsonPath": ".spec.email"},
        {"name": "Role", "type": "string", "jsonPath": ".spec.role"},
        {"name": "Invite", "type": "string", "jsonPath": ".status.inviteState", "priority": 1},
    )

    def remote_status(self, remote: Resource, previous: Mapping[str, Any]) -> dict[str, Any]:
        state = remote.status.get("invite_state")
        return {"inviteState": str(state)} if state else {}
