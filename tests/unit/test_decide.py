"""decide(), decide_deletion() and decide_connection_secret(): one row per case of the decision table."""

from __future__ import annotations

from typing import Any

import pytest

from signalcraft.api import Manager, Resource
from signalcraft.controllers.common import DeletionPolicy, DriftPolicy
from signalcraft.controllers.decide import (
    ActionType,
    DeletionActionType,
    Observation,
    SecretActionType,
    decide,
    decide_connection_secret,
    decide_deletion,
)
from signalcraft.controllers.model import SecretObject, Unresolved

ME = "k8s://cluster/ns/AlertPolicy/p"
DESIRED = {"severity": "critical", "routing_key": "db"}


def remote(spec: dict[str, Any] | None = None, *, owner: str | None = ME, version: int = 3) -> Resource:
    return Resource(
        name="ns.p",
        id="ap_1",
        spec=spec if spec is not None else dict(DESIRED),
        manager=Manager(identity=owner) if owner is not None else None,
        version=version,
        etag=f'"{version}"',
        labels={},
        status={},
        created_at="2026-12-01T00:00:00Z",
        updated_at="2026-12-01T00:00:00Z",
    )


def seen(**overrides: Any) -> Observation:
    """A resource synced before (generation 2, remote version 3), SignalCraft read, nothing different."""
    fields: dict[str, Any] = {
        "identity": ME,
        "generation": 2,
        "observed_generation": 2,
        "recorded_remote_version": 3,
        "desired_spec": DESIRED,
        "remote_read": True,
        "remote": remote(),
    }
    fields.update(overrides)
    return Observation(**fields)


CASES: list[tuple[str, Observation, ActionType]] = [
    ("invalid spec stalls", seen(invalid_spec="severity: bad"), ActionType.INVALID_SPEC),
    ("invalid spec wins over suspend", seen(invalid_spec="x", suspended=True), ActionType.INVALID_SPEC),
    ("suspended makes no call", seen(suspended=True), ActionType.SUSPEND),
    ("missing reference waits", seen(unresolved=Unresolved("ReferenceNotFound", "m")), ActionType.WAIT_FOR_REFERENCES),
    ("new resource, not read: create-only", seen(recorded_remote_version=None, remote_read=False), ActionType.CREATE),
    ("new resource, absent: create", seen(recorded_remote_version=None, remote=None), ActionType.CREATE),
    ("synced before, now absent: recreate", seen(remote=None), ActionType.RECREATE),
    ("unmanaged object: adopt", seen(remote=remote(owner=None)), ActionType.ADOPT),
    ("unmanaged and different: adopt", seen(remote=remote({"severity": "info"}, owner=None)), ActionType.ADOPT),
    ("another manager: conflict", seen(remote=remote(owner="terraform://x")), ActionType.CONFLICT),
    ("in sync: no-op", seen(), ActionType.NO_OP),
    ("server defaults are not drift", seen(remote=remote({**DESIRED, "extra": 1})), ActionType.NO_OP),
    ("credentials rotated: update", seen(credentials_changed=True), ActionType.UPDATE),
    (
        "spec changed (new generation): update",
        seen(observed_generation=1, remote=remote({"severity": "info", "routing_key": "db"})),
        ActionType.UPDATE,
    ),
    (
        "differs, remote version unchanged: update (the mapping changed, not SignalCraft)",
        seen(remote=remote({"severity": "info", "routing_key": "db"}, version=3)),
        ActionType.UPDATE,
    ),
    (
        "changed outside Kubernetes: correct drift",
        seen(remote=remote({"severity": "info", "routing_key": "db"}, version=4)),
        ActionType.CORRECT_DRIFT,
    ),
    (
        "changed outside Kubernetes, driftPolicy Report",
        seen(drift_policy=DriftPolicy.REPORT, remote=remote({"severity": "info", "routing_key": "db"}, version=4)),
        ActionType.REPORT_DRIFT,
    ),
]


@pytest.mark.parametrize(("observed", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_decide(observed: Observation, expected: ActionType) -> None:
    assert decide(observed).type is expected


def test_writes_carry_the_version_they_are_conditional_on_and_the_differences() -> None:
    action = decide(seen(remote=remote({"severity": "info", "routing_key": "db"}, version=4)))
    assert action.etag == '"4"'
    assert action.differences == ("/severity",)
    assert action.writes
    assert not action.create_only
    assert decide(seen(remote=None)).create_only
    assert decide(seen(remote=remote(owner="terraform://x"))).owner == "terraform://x"
    assert not decide(seen()).writes


DELETIONS = [
    ("escape hatch", {"skip_cleanup": True, "spec_valid": False}, DeletionActionType.SKIP_CLEANUP),
    ("unreadable spec deletes nothing", {"spec_valid": False}, DeletionActionType.UNREADABLE),
    ("suspended leaves it", {"suspended": True}, DeletionActionType.LEAVE_SUSPENDED),
    ("Delete", {}, DeletionActionType.DELETE),
    ("Orphan releases", {"policy": DeletionPolicy.ORPHAN}, DeletionActionType.RELEASE),
]


@pytest.mark.parametrize(("given", "expected"), [(c[1], c[2]) for c in DELETIONS], ids=[c[0] for c in DELETIONS])
def test_decide_deletion(given: dict[str, Any], expected: DeletionActionType) -> None:
    arguments: dict[str, Any] = {
        "skip_cleanup": False,
        "spec_valid": True,
        "suspended": False,
        "policy": DeletionPolicy.DELETE,
    }
    arguments.update(given)
    assert decide_deletion(**arguments) is expected


DATA = {"webhookURL": "https://x/t", "integrationKey": "k"}
SECRETS = [
    ("absent: create", None, SecretActionType.CREATE),
    ("ours and equal: nothing", SecretObject("s", DATA, "7", controller_uid="uid-1"), SecretActionType.NO_OP),
    ("ours and stale: update", SecretObject("s", {"webhookURL": "old"}, "7", "uid-1"), SecretActionType.UPDATE),
    ("someone else's: refuse", SecretObject("s", DATA, "7", controller_uid=None), SecretActionType.REFUSE),
    ("another resource's: refuse", SecretObject("s", DATA, "7", controller_uid="uid-2"), SecretActionType.REFUSE),
]


@pytest.mark.parametrize(("existing", "expected"), [(c[1], c[2]) for c in SECRETS], ids=[c[0] for c in SECRETS])
def test_decide_connection_secret(existing: SecretObject | None, expected: SecretActionType) -> None:
    assert decide_connection_secret(existing, "uid-1", DATA) is expected


def test_secret_values_stay_out_of_repr() -> None:
    assert "https://x/t" not in repr(SecretObject("s", DATA, "7"))
