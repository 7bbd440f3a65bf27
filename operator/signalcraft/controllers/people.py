"""How a resource names a person: a User resource in its namespace (userRef), or a SignalCraft user by name."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from signalcraft.api.rules import Rule, exactly_one_of
from signalcraft.controllers.common import CamelModel, LocalObjectReference
from signalcraft.controllers.kind import Reference, ResolvedReference

USER_KIND, USER_PLURAL = "User", "users"


class PersonRef(CamelModel):
    user_ref: LocalObjectReference | None = Field(
        default=None, description="User resource in the same namespace (resolved to its SignalCraft name)."
    )
    name: str | None = Field(
        default=None, min_length=1, max_length=253, description="A SignalCraft user not managed from here, by name."
    )

    cross_field_rules: ClassVar[tuple[Rule, ...]] = (
        exactly_one_of(
            "user_ref",
            "name",
            "a person is named by exactly one of userRef or name",
        ),
    )

    def reference(self, field_path: str) -> Reference | None:
        if self.user_ref is None:
            return None
        return Reference(USER_KIND, USER_PLURAL, self.user_ref.name, field_path)

    def signalcraft_name(self, field_path: str, resolved: dict[str, ResolvedReference] | None) -> str:
        if self.user_ref is None:
            assert self.name is not None
            return self.name
        assert resolved is not None
        return resolved[field_path].remote_name
