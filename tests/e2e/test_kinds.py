"""User, Team, Schedule and RoutingRule end to end, with the references between kinds (userRef, scheduleRef, teamRef,
alertPolicyRef): create, update, waiting for a reference, drift, delete or orphan, and ownership conflicts.

Real kube-apiserver + etcd, the real API server and the operator as processes, one namespace per test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tests.e2e.test_operator import (
    DRIFT_INTERVAL,
    TIMEOUT,
    Remote,
    apply_samples,
    condition,
    get,
    wait_condition,
    wait_event,
)
from tests.support.api_server import ApiServer, running_api_server
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess, running_operator
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with running_api_server(tmp_path_factory.mktemp("api")) as server:
        yield server


@pytest.fixture(scope="module")
def operator(crds: Cluster, api: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with running_operator(
        crds, api.url, api.admin_key, tmp_path_factory.mktemp("operator"), drift_interval=DRIFT_INTERVAL
    ) as running:
        yield running


@pytest.fixture
def remote(api: ApiServer) -> Iterator[Remote]:
    with Remote(api) as client:
        yield client


def user(name: str, namespace: str, role: str = "responder", extra: str = "") -> str:
    return f"""
apiVersion: signalcraft.io/v1alpha1
kind: User
metadata: {{name: {name}}}
spec:
  email: {name}@{namespace}.example.com
  role: {role}
{extra}"""


def team(name: str, members: list[str], description: str = "a team") -> str:
    listed = "".join(f"\n    - userRef: {{name: {member}}}" for member in members)
    return f"""
apiVersion: signalcraft.io/v1alpha1
kind: Team
metadata: {{name: {name}}}
spec:
  description: {description}
  members:{listed}
"""


def schedule(name: str, users: list[str], handoff: str = "if_has_services") -> str:
    listed = "".join(f"\n        - userRef: {{name: {person}}}" for person in users)
    return f"""
apiVersion: signalcraft.io/v1alpha1
kind: Schedule
metadata: {{name: {name}}}
spec:
  timeZone: Europe/Berlin
  handoffNotifications: {handoff}
  layers:
    - name: weekly
      start: "2026-01-05T08:00:00Z"
      rotationTurnLengthSeconds: 604800
      users:{listed}
"""


def routing_rule(name: str, policy: str, priority: int = 10) -> str:
    return f"""
apiVersion: signalcraft.io/v1alpha1
kind: RoutingRule
metadata: {{name: {name}}}
spec:
  priority: {priority}
  conditions:
    items:
      - {{field: labels, key: team, operator: equals, value: database}}
      - {{field: severity, operator: in, values: [critical, error]}}
  actions:
    alertPolicyRef: {{name: {policy}}}
"""


def alert_policy(name: str) -> str:
    return f"""
apiVersion: signalcraft.io/v1alpha1
kind: AlertPolicy
metadata: {{name: {name}}}
spec:
  severity: critical
  routingKey: {name}
"""


def wait_remote(check: Callable[[], bool], what: str) -> None:
    wait_until(check, timeout=TIMEOUT, interval=0.2, what=what)


def test_user_is_invited_updated_corrected_and_kept_on_delete(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    crds.apply(user("ada", namespace), namespace)
    ready = wait_condition(crds, "user", namespace, "ada", "Ready", "True")
    stored = remote.get("users", f"{namespace}.ada")
    assert stored is not None
    assert stored["spec"]["email"] == f"ada@{namespace}.example.com"
    assert ready["status"]["inviteState"] == "invited"
    assert ready["status"]["remoteId"] == stored["id"]

    crds.apply(user("ada", namespace, role="observer"), namespace)
    wait_remote(lambda: (remote.get("users", f"{namespace}.ada") or {})["spec"]["role"] == "observer", "the update")
    remote.edit_spec("users", f"{namespace}.ada", {"role": "admin"})
    wait_remote(lambda: (remote.get("users", f"{namespace}.ada") or {})["spec"]["role"] == "observer", "the drift fix")
    assert "/role" in wait_event(crds, namespace, "ada", "Drifted")

    # People outlive their manifests: the default deletion policy of a User is Orphan.
    assert get(crds, "user", namespace, "ada")["spec"]["deletionPolicy"] == "Orphan"
    crds.kubectl("delete", "user", "ada", "-n", namespace, "--timeout=60s")
    kept = remote.get("users", f"{namespace}.ada")
    assert kept is not None, "deleting a User must not delete the person"
    assert kept["manager"] is None


def test_team_waits_for_its_members_then_follows_them(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    crds.apply(team("dba", ["bo"]), namespace)
    waiting = wait_condition(crds, "team", namespace, "dba", "ReferencesResolved", "False", "ReferenceNotFound")
    assert "User 'bo'" in condition(waiting, "ReferencesResolved")["message"]
    assert remote.get("teams", f"{namespace}.dba") is None
    crds.apply(user("bo", namespace), namespace)
    wait_condition(crds, "team", namespace, "dba", "Ready", "True")
    stored = remote.get("teams", f"{namespace}.dba")
    assert stored is not None
    assert stored["spec"]["members"] == [{"user": f"{namespace}.bo", "role": "member"}]

    crds.apply(user("cy", namespace), namespace)
    crds.apply(team("dba", ["bo", "cy"], description="the DBAs"), namespace)
    wait_remote(
        lambda: len((remote.get("teams", f"{namespace}.dba") or {"spec": {"members": []}})["spec"]["members"]) == 2,
        "the new member",
    )
    remote.edit_spec("teams", f"{namespace}.dba", {"description": "renamed elsewhere"})
    wait_remote(
        lambda: (remote.get("teams", f"{namespace}.dba") or {})["spec"].get("description") == "the DBAs",
        "the drift fix",
    )
    assert "/description" in wait_event(crds, namespace, "dba", "Drifted")
    crds.kubectl("delete", "team", "dba", "-n", namespace, "--timeout=60s")
    assert remote.get("teams", f"{namespace}.dba") is None


def test_schedule_resolves_its_people_corrects_drift_and_is_deleted(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    crds.apply(schedule("primary", ["dee", "eli"]), namespace)
    wait_condition(crds, "schedule", namespace, "primary", "ReferencesResolved", "False", "ReferenceNotFound")
    for person in ("dee", "eli"):
        crds.apply(user(person, namespace), namespace)
    wait_condition(crds, "schedule", namespace, "primary", "Ready", "True")
    stored = remote.get("schedules", f"{namespace}.primary")
    assert stored is not None
    (layer,) = stored["spec"]["layers"]
    assert layer["users"] == [f"{namespace}.dee", f"{namespace}.eli"]
    assert stored["spec"]["time_zone"] == "Europe/Berlin"

    crds.apply(schedule("primary", ["dee", "eli"], handoff="always"), namespace)
    wait_remote(
        lambda: (remote.get("schedules", f"{namespace}.primary") or {})["spec"]["handoff_notifications"] == "always",
        "the update",
    )
    remote.edit_spec("schedules", f"{namespace}.primary", {"time_zone": "UTC"})
    wait_remote(
        lambda: (remote.get("schedules", f"{namespace}.primary") or {})["spec"]["time_zone"] == "Europe/Berlin",
        "the drift fix",
    )
    crds.kubectl("delete", "schedule", "primary", "-n", namespace, "--timeout=60s")
    assert remote.get("schedules", f"{namespace}.primary") is None


def test_routing_rule_waits_for_its_alert_policy_and_follows_updates(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    crds.apply(routing_rule("db", "db-cpu"), namespace)
    wait_condition(crds, "routingrule", namespace, "db", "ReferencesResolved", "False", "ReferenceNotFound")
    crds.apply(alert_policy("db-cpu"), namespace)
    wait_condition(crds, "routingrule", namespace, "db", "Ready", "True")
    stored = remote.get("routing-rules", f"{namespace}.db")
    assert stored is not None
    assert stored["spec"]["actions"]["alert_policy"] == {"name": f"{namespace}.db-cpu"}
    assert stored["spec"]["conditions"]["items"][1] == {
        "field": "severity",
        "operator": "in",
        "value": ["critical", "error"],
    }
    crds.apply(routing_rule("db", "db-cpu", priority=5), namespace)
    wait_remote(lambda: (remote.get("routing-rules", f"{namespace}.db") or {})["spec"]["priority"] == 5, "the update")
    remote.edit_spec("routing-rules", f"{namespace}.db", {"priority": 99})
    wait_remote(lambda: (remote.get("routing-rules", f"{namespace}.db") or {})["spec"]["priority"] == 5, "the fix")
    crds.kubectl("delete", "routingrule", "db", "-n", namespace, "--timeout=60s")
    assert remote.get("routing-rules", f"{namespace}.db") is None


def test_routing_rule_drift_is_reported_and_orphan_keeps_it(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    crds.apply(alert_policy("db-cpu"), namespace)
    manifest = routing_rule("db", "db-cpu").replace(
        "priority: 10", "priority: 10\n  driftPolicy: Report\n  deletionPolicy: Orphan"
    )
    crds.apply(manifest, namespace)
    wait_condition(crds, "routingrule", namespace, "db", "Ready", "True")
    remote.edit_spec("routing-rules", f"{namespace}.db", {"priority": 77})
    reported = wait_condition(crds, "routingrule", namespace, "db", "Drifted", "True")
    assert reported["status"]["driftedFields"] == ["/priority"]
    edited = remote.get("routing-rules", f"{namespace}.db")
    assert edited is not None
    assert edited["spec"]["priority"] == 77, "Report never writes the object back"
    crds.kubectl("delete", "routingrule", "db", "-n", namespace, "--timeout=60s")
    kept = remote.get("routing-rules", f"{namespace}.db")
    assert kept is not None, "Orphan keeps the SignalCraft object"
    assert kept["manager"] is None
    assert kept["version"] > edited["version"], "only the manager was released"


def test_a_schedule_another_manager_holds_is_a_management_conflict(
    operator: OperatorProcess, crds: Cluster, namespace: str, api: ApiServer, remote: Remote
) -> None:
    crds.apply(user("gus", namespace), namespace)
    wait_condition(crds, "user", namespace, "gus", "Ready", "True")
    remote_name = f"held-{namespace}"
    body = {
        "spec": {
            "time_zone": "UTC",
            "layers": [
                {
                    "name": "weekly",
                    "start": "2026-01-05T08:00:00Z",
                    "rotation_turn_length_seconds": 604800,
                    "users": [f"{namespace}.gus"],
                }
            ],
        },
        "manager": {"kind": "terraform", "identity": "terraform://state/on-call"},
    }
    remote.http.put(f"/v1/schedules/{remote_name}", json=body).raise_for_status()
    crds.apply(schedule("held", ["gus"]).replace("timeZone:", f"remoteName: {remote_name}\n  timeZone:"), namespace)
    conflict = wait_condition(crds, "schedule", namespace, "held", "ManagementConflict", "True")
    assert condition(conflict, "Stalled")["status"] == "True"
    assert "terraform://state/on-call" in wait_event(crds, namespace, "held", "ManagementConflict")
    stored = remote.get("schedules", remote_name)
    assert stored is not None
    assert stored["spec"]["time_zone"] == "UTC", "the other manager's object is untouched"


def test_the_samples_make_a_complete_on_call_setup_in_signalcraft(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    apply_samples(crds, namespace, "routingrule.yaml", "alertpolicy.yaml", "escalationpolicy.yaml", "team.yaml")
    apply_samples(crds, namespace, "schedule.yaml", "user.yaml")  # the dependencies last: everything waits, then flows
    wait_condition(crds, "routingrule", namespace, "db-alerts", "Ready", "True")
    stored = remote.get("escalation-policies", f"{namespace}.db-oncall")
    assert stored is not None
    targets = [target for rule in stored["spec"]["rules"] for target in rule["targets"]]
    assert targets == [
        {"type": "schedule", "name": f"{namespace}.db-primary"},
        {"type": "user", "name": f"{namespace}.db-lead"},
        {"type": "team", "name": f"{namespace}.db-team"},
    ]
    assert remote.get("schedules", f"{namespace}.db-primary") is not None
    listed = crds.kubectl("get", "signalcraft", "-n", namespace).stdout
    for kind in ("user.", "team.", "schedule.", "escalationpolicy.", "alertpolicy.", "routingrule."):
        assert kind in listed, listed


OWNED_ELSEWHERE: list[tuple[str, str, dict[str, Any], Callable[[str, str], str]]] = [
    ("user", "users", {"email": "taken@example.org"}, lambda ns, r: user("held", ns, extra=f"  remoteName: {r}\n")),
    ("team", "teams", {"members": []}, lambda ns, r: team("held", []).replace("members:", f"remoteName: {r}\n  members: []")),  # noqa: E501
    (
        "routingrule",
        "routing-rules",
        {"conditions": {"items": [{"field": "summary", "operator": "exists"}]}, "actions": {"suppress": True}},
        lambda ns, r: routing_rule("held", "nowhere").replace("priority: 10", f"priority: 10\n  remoteName: {r}"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "collection", "spec", "manifest"), OWNED_ELSEWHERE, ids=[o[0] for o in OWNED_ELSEWHERE]
)
def test_an_object_another_manager_holds_is_a_management_conflict(
    operator: OperatorProcess,
    crds: Cluster,
    namespace: str,
    api: ApiServer,
    kind: str,
    collection: str,
    spec: dict[str, Any],
    manifest: Callable[[str, str], str],
) -> None:
    remote_name = f"held-{namespace}"
    if kind == "user":
        spec = {"email": f"held@{namespace}.example.org"}
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {api.admin_key}"}, timeout=10) as http:
        body = {"spec": spec, "manager": {"kind": "terraform", "identity": "terraform://state/on-call"}}
        http.put(f"/v1/{collection}/{remote_name}", json=body).raise_for_status()
    if kind == "routingrule":
        crds.apply(alert_policy("nowhere"), namespace)
    crds.apply(manifest(namespace, remote_name), namespace)
    conflict = wait_condition(crds, kind, namespace, "held", "ManagementConflict", "True")
    assert condition(conflict, "Stalled")["status"] == "True"
    assert "terraform://state/on-call" in wait_event(crds, namespace, "held", "ManagementConflict")
