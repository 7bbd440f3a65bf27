"""compute_status(): the status patch, the Events and the retry of every action and failure, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from signalcraft.api import Manager, Resource
from signalcraft.api import errors as api_errors
from signalcraft.controllers.decide import Action, ActionType
from signalcraft.controllers.model import KubeError, KubeObject
from signalcraft.controllers.status import PassResult, backoff_delay, compute_status

NOW = "2026-12-02T01:00:00Z"
REMOTE = Resource(
    name="ns.p",
    id="ap_1",
    spec={},
    manager=Manager(identity="me"),
    version=4,
    etag='"4"',
    labels={},
    status={},
    created_at="2026-12-01T00:00:00Z",
    updated_at="2026-12-01T00:00:00Z",
)


def synced_status(**extra: Any) -> dict[str, Any]:
    conditions = [
        {"type": "Ready", "status": "True", "reason": "Synced", "message": "SignalCraft object ns.p is in sync"},
        {"type": "Synced", "status": "True", "reason": "Synced", "message": "the SignalCraft object matches the spec"},
        {"type": "Reconciling", "status": "False", "reason": "Synced", "message": ""},
        {"type": "Stalled", "status": "False", "reason": "Synced", "message": ""},
    ]
    for condition in conditions:
        condition.update(observedGeneration=2, lastTransitionTime="2026-12-01T00:00:00Z")
    return {
        "observedGeneration": 2,
        "remoteId": "ap_1",
        "remoteName": "ns.p",
        "remoteVersion": 4,
        "lastSyncedAt": "2026-12-01T00:00:00Z",
        "conditions": conditions,
        **extra,
    }


def obj(status: dict[str, Any] | None = None, generation: int = 2) -> KubeObject:
    body = {"metadata": {"name": "p", "namespace": "ns", "generation": generation, "uid": "u"}, "spec": {}}
    if status is not None:
        body["status"] = status
    return KubeObject(body)


def run(action: ActionType | None, *, current: dict[str, Any] | None = None, **fields: Any) -> Any:
    return compute_status(
        PassResult(
            obj=obj(current),
            now=NOW,
            collection="alert-policies",
            remote_name="ns.p",
            action=Action(action, **fields.pop("action_fields", {})) if action is not None else None,
            remote=fields.pop("remote", REMOTE),
            **fields,
        )
    )


def conditions_of(outcome: Any) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in outcome.status_patch.get("conditions", [])}


def problem(status: int, code: str = "x", **extra: Any) -> api_errors.ApiError:
    return api_errors.error_for(status, {"code": code, "detail": "d", **extra}, None)


# (case, action, options, Ready, Stalled, event reasons, retries)
CASES: list[tuple[str, ActionType | None, dict[str, Any], tuple[str, str], str, list[str], bool]] = [
    ("create", ActionType.CREATE, {}, ("True", "Synced"), "False", ["Created"], False),
    ("recreate", ActionType.RECREATE, {}, ("True", "Synced"), "False", ["Created"], False),
    ("adopt", ActionType.ADOPT, {}, ("True", "Synced"), "False", ["Adopted"], False),
    ("update", ActionType.UPDATE, {"action_fields": {"differences": ("/a",)}}, ("True", "Synced"), "False",
     ["Updated"], False),
    ("correct drift", ActionType.CORRECT_DRIFT, {"action_fields": {"differences": ("/a",)}}, ("True", "Synced"),
     "False", ["Drifted"], False),
    ("report drift", ActionType.REPORT_DRIFT, {"action_fields": {"differences": ("/a",)}}, ("True", "DriftReported"),
     "False", ["Drifted"], False),
    ("conflict", ActionType.CONFLICT, {"action_fields": {"owner": "tf"}}, ("False", "ManagementConflict"), "True",
     ["ManagementConflict"], False),
    ("invalid spec", ActionType.INVALID_SPEC, {"action_fields": {"message": "m"}}, ("False", "InvalidSpec"), "True",
     ["InvalidSpec"], False),
    ("waiting for a reference", ActionType.WAIT_FOR_REFERENCES,
     {"action_fields": {"reason": "ReferenceNotFound", "message": "m"}}, ("False", "ReferencesUnresolved"), "False",
     ["ReferenceNotFound"], False),
    ("reference not Ready yet (no event)", ActionType.WAIT_FOR_REFERENCES,
     {"action_fields": {"reason": "ReferenceNotReady", "message": "m"}}, ("False", "ReferencesUnresolved"), "False",
     [], False),
    ("suspended, never synced", ActionType.SUSPEND, {}, ("Unknown", "Suspended"), "False", [], False),
    ("connection Secret of someone else", ActionType.CREATE, {"connection_refused": "not ours"},
     ("False", "ConnectionSecretConflict"), "True", ["Created", "ConnectionSecretConflict"], False),
    ("422 refused by SignalCraft", None, {"failure": problem(422)}, ("False", "InvalidSpec"), "True", ["InvalidSpec"],
     False),
    ("409 ownership conflict on write", None,
     {"failure": problem(409, "ownership-conflict", current_manager="tf")}, ("False", "ManagementConflict"), "True",
     ["ManagementConflict"], False),
    ("409 other conflict", None, {"failure": problem(409, "in-use")}, ("False", "SyncFailed"), "True", ["SyncFailed"],
     False),
    ("412 changed meanwhile", None, {"failure": problem(412)}, ("False", "UpdateConflict"), "False", ["SyncFailed"],
     True),
    ("401 key rejected", None, {"failure": problem(401)}, ("False", "ApiCredentialsRejected"), "False", ["SyncFailed"],
     True),
    ("503 unavailable", None, {"failure": problem(503)}, ("False", "SyncFailed"), "False", ["SyncFailed"], True),
    ("transport error", None, {"failure": api_errors.TransportError("down")}, ("False", "SyncFailed"), "False",
     ["SyncFailed"], True),
    ("Kubernetes error", None, {"failure": KubeError("forbidden")}, ("False", "KubernetesError"), "False",
     ["SyncFailed"], True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("action", "options", "ready", "stalled", "events", "retries"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_status_of_each_case(
    action: ActionType | None,
    options: dict[str, Any],
    ready: tuple[str, str],
    stalled: str,
    events: list[str],
    retries: bool,
) -> None:
    outcome = run(action, **options)
    found = conditions_of(outcome)
    assert found["Ready"] == ready
    assert found["Stalled"][0] == stalled
    assert [event.reason for event in outcome.events] == events
    assert (outcome.retry_after is not None) is retries


def test_a_pass_that_changes_nothing_writes_nothing() -> None:
    outcome = run(ActionType.NO_OP, current=synced_status())
    assert outcome.status_patch == {}
    assert outcome.events == []


def test_synced_status_records_remote_version_and_generation_and_keeps_transition_time() -> None:
    outcome = run(ActionType.UPDATE, current=synced_status(remoteVersion=3), action_fields={"differences": ("/a",)})
    assert outcome.status_patch["remoteVersion"] == 4
    assert outcome.status_patch["lastSyncedAt"] == NOW
    ready = next(
        c for c in outcome.status_patch.get("conditions", synced_status()["conditions"]) if c["type"] == "Ready"
    )
    assert ready["lastTransitionTime"] == "2026-12-01T00:00:00Z"


def test_kind_status_and_references_go_into_the_same_patch() -> None:
    outcome = run(ActionType.CREATE, uses_references=True, kind_status={"webhookURL": "https://x/<s>"})
    assert outcome.status_patch["webhookURL"] == "https://x/<s>"
    assert conditions_of(outcome)["ReferencesResolved"] == ("True", "Resolved")


def test_repeated_failure_posts_no_second_event_and_rewrites_no_status() -> None:
    first = run(None, failure=problem(503))
    again = compute_status(
        PassResult(obj(first.status_patch), NOW, "alert-policies", "ns.p", None, failure=problem(503), retry=3)
    )
    assert again.events == []
    assert again.status_patch == {}
    assert again.retry_after is not None
    assert again.retry_after >= 8


def test_a_failure_on_a_new_generation_records_it_without_a_second_event() -> None:
    """The same failure already recorded (say by a drift check) for the previous generation: the status is written
    again for the new one, so observedGeneration follows the spec; the Event is not repeated."""
    first = run(None, failure=problem(503))
    recorded = obj(first.status_patch, generation=3)
    again = compute_status(PassResult(recorded, NOW, "alert-policies", "ns.p", None, failure=problem(503), retry=0))
    assert again.events == []
    assert again.status_patch["observedGeneration"] == 3
    synced = {c["type"]: c for c in again.status_patch["conditions"]}["Synced"]
    assert (synced["status"], synced["observedGeneration"]) == ("False", 3)
    assert again.retry_after is not None


def test_drift_report_event_only_when_the_fields_change() -> None:
    current = synced_status(driftedFields=["/a"])
    outcome = run(ActionType.REPORT_DRIFT, current=current, action_fields={"differences": ("/a",)})
    assert outcome.events == []


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    assert backoff_delay(0) == 1.0
    assert backoff_delay(3) == 8.0
    assert backoff_delay(30) == 300.0
    assert backoff_delay(0, 42.0) == 42.0
    assert backoff_delay(3, jitter=1.2) == pytest.approx(9.6)
