"""Conditions as Kubernetes, kstatus, Argo CD and Flux read them, set as apimachinery's SetStatusCondition does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_MESSAGE = 32768


class ConditionType(StrEnum):
    READY = "Ready"
    SYNCED = "Synced"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    REFERENCES_RESOLVED = "ReferencesResolved"
    DRIFTED = "Drifted"
    DELETION_BLOCKED = "DeletionBlocked"
    MANAGEMENT_CONFLICT = "ManagementConflict"


# The order conditions are listed in, so that a status is byte-stable whatever order they were set in.
_ORDER = {condition: index for index, condition in enumerate(ConditionType)}


@dataclass(frozen=True)
class ConditionUpdate:
    type: ConditionType
    status: bool | None
    reason: str
    message: str = ""

    @property
    def status_text(self) -> str:
        return "Unknown" if self.status is None else ("True" if self.status else "False")


def merge_conditions(
    current: Sequence[Mapping[str, Any]],
    updates: Sequence[ConditionUpdate],
    *,
    generation: int,
    now: str,
    drop: Sequence[ConditionType] = (),
) -> list[dict[str, Any]]:
    """Upsert by type; lastTransitionTime moves only when status flips; conditions in `drop` are removed."""
    by_type: dict[str, dict[str, Any]] = {str(c.get("type")): dict(c) for c in current if c.get("type")}
    for gone in drop:
        by_type.pop(gone.value, None)
    for update in updates:
        previous = by_type.get(update.type.value)
        kept_time = previous.get("lastTransitionTime") if previous is not None else None
        flipped = previous is None or previous.get("status") != update.status_text
        by_type[update.type.value] = {
            "type": update.type.value,
            "status": update.status_text,
            "observedGeneration": generation,
            "lastTransitionTime": kept_time if kept_time and not flipped else now,
            "reason": update.reason,
            "message": update.message[:MAX_MESSAGE],
        }
    return sorted(by_type.values(), key=lambda c: (_ORDER.get(c["type"], len(_ORDER)), c["type"]))


def find(conditions: Sequence[Mapping[str, Any]], condition: ConditionType) -> Mapping[str, Any] | None:
    for entry in conditions:
        if entry.get("type") == condition.value:
            return entry
    return None


def is_true(conditions: Sequence[Mapping[str, Any]], condition: ConditionType) -> bool:
    entry = find(conditions, condition)
    return entry is not None and entry.get("status") == "True"


def reason_of(conditions: Sequence[Mapping[str, Any]], condition: ConditionType) -> str | None:
    entry = find(conditions, condition)
    return None if entry is None else str(entry.get("reason", ""))
