"""What one pass should do, decided from what was observed — pure functions, no I/O.

The engine observes (the custom resource, its references and Secrets, the SignalCraft object), asks `decide` for one
action, performs it, and computes the status from the result. `signalcraft plan` asks the same `decide` what applying a
manifest would do, so the plan and the operator cannot disagree.

| observed                                                  | action                          |
|-----------------------------------------------------------|---------------------------------|
| spec does not validate                                    | INVALID_SPEC (stall)            |
| spec.suspend                                              | SUSPEND (no API call)           |
| a reference or Secret is missing / not Ready              | WAIT_FOR_REFERENCES             |
| SignalCraft object not read (first sight)                 | CREATE (create-only PUT)        |
| SignalCraft object absent                                 | CREATE, or RECREATE if synced before |
| present, no manager                                       | ADOPT                           |
| present, another manager                                  | CONFLICT                        |
| present, ours, equal, credentials unchanged               | NO_OP                           |
| present, ours, differs, spec unchanged since last sync    | CORRECT_DRIFT / REPORT_DRIFT (driftPolicy) |
| present, ours, differs (or credentials rotated)           | UPDATE                          |

A create-only PUT never duplicates: when the object exists after all (412), the engine reads it and decides again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from signalcraft.api import Resource
from signalcraft.controllers.common import DeletionPolicy, DriftPolicy
from signalcraft.controllers.diff import spec_differences
from signalcraft.controllers.model import SecretObject, Unresolved


class ActionType(StrEnum):
    INVALID_SPEC = "invalid-spec"
    SUSPEND = "suspend"
    WAIT_FOR_REFERENCES = "wait-for-references"
    CREATE = "create"
    RECREATE = "recreate"
    ADOPT = "adopt"
    UPDATE = "update"
    CORRECT_DRIFT = "correct-drift"
    REPORT_DRIFT = "report-drift"
    CONFLICT = "conflict"
    NO_OP = "no-op"


WRITES = frozenset(
    {ActionType.CREATE, ActionType.RECREATE, ActionType.ADOPT, ActionType.UPDATE, ActionType.CORRECT_DRIFT}
)
"""Actions that PUT the desired object to SignalCraft."""


@dataclass(frozen=True)
class Action:
    type: ActionType
    differences: tuple[str, ...] = ()
    """Spec fields (JSON pointers) where SignalCraft differs from the desired object."""
    owner: str | None = None
    """For CONFLICT: the identity that manages the object."""
    etag: str | None = None
    """For writes over an existing object: the version the write is conditional on (If-Match)."""
    message: str = ""
    """For INVALID_SPEC and WAIT_FOR_REFERENCES: what is wrong."""
    reason: str = ""

    @property
    def create_only(self) -> bool:
        return self.type in (ActionType.CREATE, ActionType.RECREATE)

    @property
    def writes(self) -> bool:
        return self.type in WRITES


@dataclass(frozen=True)
class Observation:
    """Everything `decide` looks at. `remote_read` False means SignalCraft was not asked (a brand-new resource)."""

    identity: str
    generation: int
    observed_generation: int | None = None
    recorded_remote_version: int | None = None
    """status.remoteVersion: the SignalCraft version the last sync saw; None before the first sync."""
    invalid_spec: str | None = None
    suspended: bool = False
    unresolved: Unresolved | None = None
    desired_spec: Mapping[str, Any] | None = None
    drift_policy: DriftPolicy = DriftPolicy.CORRECT
    remote_read: bool = False
    remote: Resource | None = None
    credentials_changed: bool = False

    @property
    def first_sight(self) -> bool:
        return self.recorded_remote_version is None


def decide(observed: Observation) -> Action:
    if observed.invalid_spec is not None:
        return Action(ActionType.INVALID_SPEC, reason="InvalidSpec", message=observed.invalid_spec)
    if observed.suspended:
        return Action(ActionType.SUSPEND)
    if observed.unresolved is not None:
        return Action(
            ActionType.WAIT_FOR_REFERENCES, reason=observed.unresolved.reason, message=observed.unresolved.message
        )
    if not observed.remote_read:
        return Action(ActionType.CREATE)
    remote = observed.remote
    if remote is None:
        return Action(ActionType.CREATE if observed.first_sight else ActionType.RECREATE)
    owner = remote.manager.identity if remote.manager is not None else None
    differences = tuple(spec_differences(dict(observed.desired_spec or {}), remote.spec))
    if owner is None:
        return Action(ActionType.ADOPT, differences=differences, etag=remote.etag)
    if owner != observed.identity:
        return Action(ActionType.CONFLICT, owner=owner)
    if not differences and not observed.credentials_changed:
        return Action(ActionType.NO_OP)
    drifted = (
        bool(differences)
        and observed.observed_generation == observed.generation
        and observed.recorded_remote_version is not None
        and remote.version != observed.recorded_remote_version
    )
    if drifted:
        kind = ActionType.REPORT_DRIFT if observed.drift_policy is DriftPolicy.REPORT else ActionType.CORRECT_DRIFT
        return Action(kind, differences=differences, etag=remote.etag)
    return Action(ActionType.UPDATE, differences=differences, etag=remote.etag)


# ---------------------------------------------------------------- deletion


class DeletionActionType(StrEnum):
    SKIP_CLEANUP = "skip-cleanup"
    """The escape-hatch annotation is set: the finalizer goes, SignalCraft is not called."""
    UNREADABLE = "unreadable"
    """The spec does not validate: nothing is known for sure, nothing is deleted."""
    LEAVE_SUSPENDED = "leave-suspended"
    DELETE = "delete"
    RELEASE = "release"


def decide_deletion(
    *, skip_cleanup: bool, spec_valid: bool, suspended: bool, policy: DeletionPolicy
) -> DeletionActionType:
    if skip_cleanup:
        return DeletionActionType.SKIP_CLEANUP
    if not spec_valid:
        return DeletionActionType.UNREADABLE
    if suspended:
        return DeletionActionType.LEAVE_SUSPENDED
    return DeletionActionType.RELEASE if policy is DeletionPolicy.ORPHAN else DeletionActionType.DELETE


# ---------------------------------------------------------------- connection Secrets


class SecretActionType(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    NO_OP = "no-op"
    REFUSE = "refuse"
    """The Secret exists and this resource did not create it: never taken over, never garbage-collected."""


def decide_connection_secret(
    existing: SecretObject | None, owner_uid: str, desired: Mapping[str, str]
) -> SecretActionType:
    if existing is None:
        return SecretActionType.CREATE
    if existing.controller_uid != owner_uid:
        return SecretActionType.REFUSE
    return SecretActionType.NO_OP if dict(existing.data) == dict(desired) else SecretActionType.UPDATE
