"""Spec and status building blocks shared by every SignalCraft custom resource.

The CRD schemas are generated from pydantic models (see ``signalcraft.crds``): the fields a kind shares with the API are
derived from the contract's models (``signalcraft.controllers.derive``), the Kubernetes-only fields are declared here
and in each kind's module. Field descriptions become ``kubectl explain`` text, bounds become OpenAPI bounds, and
cross-field rules and ``cel_rules`` become ``x-kubernetes-validations`` enforced at admission.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from signalcraft.api.rules import RuleChecked

GROUP = "signalcraft.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "signalcraft"

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""What both Kubernetes object names and SignalCraft resource names accept."""


def cel(rule: str, message: str, **extra: str) -> dict[str, str]:
    """One CEL validation rule, as the API server evaluates it at admission."""
    return {"rule": rule, "message": message, **extra}


class CamelModel(RuleChecked):
    """Kubernetes spells fields in camelCase; Python code uses snake_case. Unknown fields are an error."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class DeletionPolicy(StrEnum):
    DELETE = "Delete"
    ORPHAN = "Orphan"


class DriftPolicy(StrEnum):
    CORRECT = "Correct"
    REPORT = "Report"


class LocalObjectReference(CamelModel):
    name: str = Field(
        min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="Name of an object in the same namespace."
    )


class SecretKeySelector(CamelModel):
    name: str = Field(
        min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="Name of a Secret in the same namespace."
    )
    key: str = Field(
        min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$", description="Key inside the Secret's data."
    )


class ManagedSpec(CamelModel):
    """Fields every SignalCraft kind has, whatever it manages."""

    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE,
        description="Delete removes the SignalCraft object with the resource; Orphan releases ownership and keeps it.",
    )
    drift_policy: DriftPolicy = Field(
        default=DriftPolicy.CORRECT,
        description=(
            "What the periodic drift check does when the SignalCraft object was changed outside Kubernetes: "
            "Correct re-applies this spec, Report only sets the Drifted condition."
        ),
    )
    suspend: bool = Field(
        default=False, description="When true the operator makes no SignalCraft API calls for this resource."
    )
    remote_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="Name of the object in SignalCraft. Defaults to <namespace>.<name>; immutable once set.",
    )

    # Kubernetes-only CEL rules (transition rules on oldSelf have no Python side); subclasses extend them.
    cel_rules: ClassVar[list[dict[str, str]]] = [
        cel(
            "has(oldSelf.remoteName) == has(self.remoteName) && "
            "(!has(self.remoteName) || self.remoteName == oldSelf.remoteName)",
            "remoteName is immutable: create a new resource to manage a different SignalCraft object",
            reason="FieldValueForbidden",
            fieldPath=".remoteName",
        )
    ]


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(CamelModel):
    """A Kubernetes condition (metav1.Condition shape)."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(max_length=316, description="Condition type, e.g. Ready, Synced, Reconciling, Stalled.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    observed_generation: int | None = Field(
        default=None, ge=0, description="metadata.generation the condition was computed for."
    )
    last_transition_time: str | None = Field(default=None, description="When status last changed (RFC 3339).")
    reason: str = Field(default="", max_length=1024, description="CamelCase reason for the last transition.")
    message: str = Field(default="", max_length=32768, description="What a person needs to know, and what to do.")


class ManagedStatus(CamelModel):
    """Status fields every kind reports (kstatus-compliant)."""

    model_config = ConfigDict(extra="ignore")

    observed_generation: int | None = Field(
        default=None, description="metadata.generation of the spec the conditions describe."
    )
    conditions: list[Condition] = Field(
        default_factory=list, max_length=16, description="Ready, Synced, Reconciling, Stalled, ..."
    )
    remote_id: str | None = Field(default=None, description="Server-assigned id of the SignalCraft object.")
    remote_name: str | None = Field(default=None, description="Name of the SignalCraft object this resource manages.")
    remote_version: int | None = Field(default=None, description="Version of the SignalCraft object last seen.")
    last_synced_at: str | None = Field(default=None, description="When the SignalCraft object last matched the spec.")
    drifted_fields: list[str] | None = Field(
        default=None, max_length=64, description="Spec fields found changed outside Kubernetes by the last drift check."
    )
    handled_configuration: str | None = Field(
        default=None, description="Operator bookkeeping: the last handled spec, used to detect changes."
    )
