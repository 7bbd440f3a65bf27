"""The status a pass writes and the Events it posts, computed from the action and its result — pure, no I/O.

One merge-patch holding only the keys that change (empty when nothing does: a no-op pass writes nothing), Events only
on transitions (a condition's reason changes), and a retry delay for transient failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from signalcraft.api import Resource
from signalcraft.api import errors as api_errors
from signalcraft.controllers import conditions as cond
from signalcraft.controllers.conditions import ConditionType, ConditionUpdate
from signalcraft.controllers.decide import Action, ActionType
from signalcraft.controllers.model import EventRecord, KubeError, KubeObject, Outcome, Unresolved

SKIP_CLEANUP_ANNOTATION = "signalcraft.io/skip-remote-cleanup"
"""Escape hatch: when "true", deleting the resource removes the finalizer without calling SignalCraft."""

MAX_BACKOFF = 300.0


def backoff_delay(retry: int, retry_after: float | None = None, *, jitter: float = 1.0) -> float:
    """Exponential backoff (scaled by `jitter`, 0.8-1.2 in the engine), never sooner than the server's Retry-After."""
    delay = min(MAX_BACKOFF, 2.0 ** min(retry, 16)) * jitter
    return max(1.0, delay, retry_after or 0.0)


@dataclass(frozen=True)
class PassResult:
    """What the status function is given: the action, the SignalCraft object after it, or the failure it met."""

    obj: KubeObject
    now: str
    collection: str
    remote_name: str
    action: Action | None
    remote: Resource | None = None
    """The SignalCraft object as written (or as read, for NO_OP and REPORT_DRIFT)."""
    failure: Exception | None = None
    uses_references: bool = False
    kind_status: Mapping[str, Any] = field(default_factory=dict)
    """Kind-specific status fields (e.g. Integration's webhookURL), from the kind's hooks."""
    connection_refused: str | None = None
    """Set when the connection Secret exists and belongs to someone else: why it was not written."""
    retry: int = 0
    jitter: float = 1.0


def compute_status(result: PassResult) -> Outcome:
    if result.failure is not None:
        return _failure(result, result.failure)
    action = result.action
    assert action is not None, "a pass without failure has an action"
    if action.type is ActionType.INVALID_SPEC:
        return stalled(result.obj, result.now, "InvalidSpec", f"the spec does not validate: {action.message}")
    if action.type is ActionType.SUSPEND:
        return suspended(result.obj, result.now)
    if action.type is ActionType.WAIT_FOR_REFERENCES:
        return waiting_for_references(result.obj, result.now, Unresolved(action.reason, action.message))
    if action.type is ActionType.CONFLICT:
        return conflict(result.obj, result.now, action.owner)
    assert result.remote is not None, f"{action.type} needs the SignalCraft object"
    if action.type is ActionType.REPORT_DRIFT:
        return drift_reported(result.obj, result.now, result.remote, list(action.differences))
    return synced(result, result.remote)


def _what(result: PassResult) -> str:
    return f"SignalCraft {result.collection} object {result.remote_name!r}"


def _events_for(result: PassResult) -> list[EventRecord]:
    action, what = result.action, _what(result)
    assert action is not None
    fields = ", ".join(action.differences)
    if action.type is ActionType.CREATE:
        return [EventRecord("Normal", "Created", f"created {what}")]
    if action.type is ActionType.RECREATE:
        return [EventRecord("Normal", "Created", f"created {what} again: it had been deleted outside Kubernetes")]
    if action.type is ActionType.ADOPT:
        return [EventRecord("Normal", "Adopted", f"adopted the existing {what}")]
    if action.type is ActionType.CORRECT_DRIFT:
        return [EventRecord("Warning", "Drifted", f"corrected a change made outside Kubernetes to {fields}")]
    if action.type is ActionType.UPDATE:
        changed = fields or "credentials (a Secret changed)"
        return [EventRecord("Normal", "Updated", f"updated {what}: {changed}")]
    return []


def synced(result: PassResult, remote: Resource) -> Outcome:
    obj, status, now = result.obj, result.obj.status, result.now
    events = _events_for(result)
    assert result.action is not None
    wrote = result.action.writes
    updates = [
        ConditionUpdate(ConditionType.READY, True, "Synced", f"SignalCraft object {result.remote_name} is in sync"),
        ConditionUpdate(ConditionType.SYNCED, True, "Synced", "the SignalCraft object matches the spec"),
        ConditionUpdate(ConditionType.RECONCILING, False, "Synced"),
        ConditionUpdate(ConditionType.STALLED, False, "Synced"),
    ]
    if result.connection_refused is not None:
        message = result.connection_refused
        updates[0] = ConditionUpdate(ConditionType.READY, False, "ConnectionSecretConflict", message)
        updates[3] = ConditionUpdate(ConditionType.STALLED, True, "ConnectionSecretConflict", message)
        if cond.reason_of(obj.conditions, ConditionType.STALLED) != "ConnectionSecretConflict":
            events.append(EventRecord("Warning", "ConnectionSecretConflict", message))
    if result.uses_references:
        updates.append(ConditionUpdate(ConditionType.REFERENCES_RESOLVED, True, "Resolved"))
    drop = [ConditionType.MANAGEMENT_CONFLICT, ConditionType.DELETION_BLOCKED]
    if result.action.type is ActionType.CORRECT_DRIFT:
        corrected = ", ".join(result.action.differences)
        updates.append(ConditionUpdate(ConditionType.DRIFTED, False, "Corrected", f"corrected: {corrected}"))
    elif cond.is_true(obj.conditions, ConditionType.DRIFTED):
        updates.append(ConditionUpdate(ConditionType.DRIFTED, False, "InSync"))
    new_status: dict[str, Any] = {
        "observedGeneration": obj.generation,
        "remoteId": remote.id,
        "remoteName": result.remote_name,
        "remoteVersion": remote.version,
        "lastSyncedAt": now if wrote or not status.get("lastSyncedAt") else status["lastSyncedAt"],
        "driftedFields": None,
        "conditions": cond.merge_conditions(obj.conditions, updates, generation=obj.generation, now=now, drop=drop),
        **result.kind_status,
    }
    return Outcome(status_patch=status_patch(status, new_status), events=events)


def drift_reported(obj: KubeObject, now: str, remote: Resource, differences: list[str]) -> Outcome:
    message = f"changed outside Kubernetes: {', '.join(differences)} (driftPolicy Report: not corrected)"
    updates = [
        ConditionUpdate(ConditionType.DRIFTED, True, "DriftDetected", message),
        ConditionUpdate(ConditionType.SYNCED, False, "Drifted", message),
        ConditionUpdate(ConditionType.READY, True, "DriftReported", message),
        ConditionUpdate(ConditionType.RECONCILING, False, "DriftReported"),
        ConditionUpdate(ConditionType.STALLED, False, "DriftReported"),
    ]
    new_status = {
        "conditions": cond.merge_conditions(obj.conditions, updates, generation=obj.generation, now=now),
        "driftedFields": differences,
        "remoteId": remote.id,
    }
    events = []
    if obj.status.get("driftedFields") != differences:
        events.append(EventRecord("Warning", "Drifted", message))
    return Outcome(status_patch=status_patch(obj.status, new_status), events=events)


def _transition(
    obj: KubeObject, now: str, updates: list[ConditionUpdate], event: EventRecord | None, transition_on: ConditionType
) -> Outcome:
    """Write the conditions; post `event` only when the reason of `transition_on` changes."""
    previous_reason = cond.reason_of(obj.conditions, transition_on)
    merged = cond.merge_conditions(obj.conditions, updates, generation=obj.generation, now=now)
    new_status = {"observedGeneration": obj.generation, "conditions": merged}
    events = []
    new_reason = next(update.reason for update in updates if update.type is transition_on)
    if event is not None and previous_reason != new_reason:
        events.append(event)
    return Outcome(status_patch=status_patch(obj.status, new_status), events=events)


def stalled(obj: KubeObject, now: str, reason: str, message: str) -> Outcome:
    updates = [
        ConditionUpdate(ConditionType.READY, False, reason, message),
        ConditionUpdate(ConditionType.SYNCED, False, reason, message),
        ConditionUpdate(ConditionType.RECONCILING, False, reason),
        ConditionUpdate(ConditionType.STALLED, True, reason, f"{message}; fix the spec to continue"),
    ]
    return _transition(obj, now, updates, EventRecord("Warning", reason, message), ConditionType.STALLED)


def conflict(obj: KubeObject, now: str, current_manager: str | None) -> Outcome:
    owner = current_manager or "another manager"
    message = (
        f"the SignalCraft object is managed by {owner}; release it there (or set spec.remoteName) "
        "before this resource can manage it"
    )
    updates = [
        ConditionUpdate(ConditionType.MANAGEMENT_CONFLICT, True, "ManagedElsewhere", message),
        ConditionUpdate(ConditionType.READY, False, "ManagementConflict", message),
        ConditionUpdate(ConditionType.SYNCED, False, "ManagementConflict", message),
        ConditionUpdate(ConditionType.RECONCILING, False, "ManagementConflict"),
        ConditionUpdate(ConditionType.STALLED, True, "ManagementConflict", message),
    ]
    event = EventRecord("Warning", "ManagementConflict", message)
    return _transition(obj, now, updates, event, ConditionType.MANAGEMENT_CONFLICT)


def transient(obj: KubeObject, now: str, reason: str, message: str, delay: float) -> Outcome:
    text = f"{message}; retrying in {delay:.0f}s"
    updates = [
        ConditionUpdate(ConditionType.READY, False, reason, text),
        ConditionUpdate(ConditionType.SYNCED, False, reason, text),
        ConditionUpdate(ConditionType.RECONCILING, True, "Retrying", text),
        ConditionUpdate(ConditionType.STALLED, False, reason),
    ]
    outcome = _transition(obj, now, updates, EventRecord("Warning", "SyncFailed", message), ConditionType.SYNCED)
    # A retry's message only differs in its countdown: do not rewrite the status for that alone. A new generation
    # is written, though: observedGeneration must follow the spec even when the failure is the same.
    if cond.reason_of(obj.conditions, ConditionType.SYNCED) == reason and obj.observed_generation_is_current:
        outcome.status_patch = {}
    outcome.retry_after = delay
    outcome.retry_reason = message
    return outcome


def waiting_for_references(obj: KubeObject, now: str, unresolved: Unresolved) -> Outcome:
    updates = [
        ConditionUpdate(ConditionType.REFERENCES_RESOLVED, False, unresolved.reason, unresolved.message),
        ConditionUpdate(ConditionType.READY, False, "ReferencesUnresolved", unresolved.message),
        ConditionUpdate(ConditionType.SYNCED, False, "ReferencesUnresolved", unresolved.message),
        ConditionUpdate(ConditionType.RECONCILING, True, "WaitingForReferences", unresolved.message),
        ConditionUpdate(ConditionType.STALLED, False, "WaitingForReferences"),
    ]
    event = None
    if unresolved.reason in ("ReferenceNotFound", "SecretNotFound"):
        event = EventRecord("Warning", "ReferenceNotFound", unresolved.message)
    elif unresolved.reason == "SecretNotAllowed":
        event = EventRecord("Warning", "SecretNotAllowed", unresolved.message)
    return _transition(obj, now, updates, event, ConditionType.REFERENCES_RESOLVED)


def suspended(obj: KubeObject, now: str) -> Outcome:
    """No API calls. Ready keeps what the last sync established, so Flux and Argo CD do not wait on a pause."""
    message = "spec.suspend is true: no SignalCraft API calls are made"
    ready = cond.find(obj.conditions, ConditionType.READY)
    if ready is not None and ready.get("status") in ("True", "False"):
        kept = ConditionUpdate(
            ConditionType.READY, ready["status"] == "True", str(ready.get("reason", "")), str(ready.get("message", ""))
        )
    else:
        kept = ConditionUpdate(ConditionType.READY, None, "Suspended", f"{message}; never synced")
    updates = [
        kept,
        ConditionUpdate(ConditionType.SYNCED, False, "Suspended", message),
        ConditionUpdate(ConditionType.RECONCILING, False, "Suspended"),
        ConditionUpdate(ConditionType.STALLED, False, "Suspended"),
    ]
    return _transition(obj, now, updates, None, ConditionType.SYNCED)


def _failure(result: PassResult, exc: Exception) -> Outcome:
    """Map what an action met to a status: refusals stall, ownership conflicts say so, the rest retries."""
    obj, now = result.obj, result.now

    def retrying(reason: str, message: str, retry_after: float | None) -> Outcome:
        delay = backoff_delay(result.retry, retry_after, jitter=result.jitter)
        return transient(obj, now, reason, message, delay)

    if isinstance(exc, api_errors.ValidationError):
        pointers = ", ".join(f"{e.pointer}: {e.detail}" for e in exc.errors) or exc.detail
        return stalled(obj, now, "InvalidSpec", f"SignalCraft refused the object: {pointers}")
    if isinstance(exc, api_errors.ConflictError):
        if exc.code == "ownership-conflict":
            return conflict(obj, now, exc.current_manager)
        return stalled(obj, now, "SyncFailed", f"SignalCraft refused the write: {exc.detail}")
    if isinstance(exc, api_errors.PreconditionFailedError):
        return retrying("UpdateConflict", "the SignalCraft object changed meanwhile", 1.0)
    if isinstance(exc, api_errors.AuthenticationError | api_errors.PermissionDeniedError):
        message = f"SignalCraft rejected the operator's API key ({exc.status} {exc.code}); check its Secret"
        return retrying("ApiCredentialsRejected", message, 60.0)
    if isinstance(exc, api_errors.SignalCraftError):
        retry_after = exc.retry_after if isinstance(exc, api_errors.ApiError) else None
        return retrying("SyncFailed", f"SignalCraft API unavailable: {exc}", retry_after)
    if isinstance(exc, KubeError):
        return retrying("KubernetesError", str(exc), None)
    raise exc


# ---------------------------------------------------------------- deletion


def deletion_blocked(obj: KubeObject, now: str, message: str, delay: float) -> Outcome:
    updates = [ConditionUpdate(ConditionType.DELETION_BLOCKED, True, "InUse", message)]
    outcome = _transition(
        obj, now, updates, EventRecord("Warning", "DeletionBlocked", message), ConditionType.DELETION_BLOCKED
    )
    outcome.retry_after = delay
    outcome.retry_reason = message
    outcome.finished = False
    return outcome


def status_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """Only the keys whose value changes; None removes a key that is present."""
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        if value is None:
            if current.get(key) is not None:
                patch[key] = None
        elif current.get(key) != value:
            patch[key] = value
    return patch
