"""The operator end to end: real kube-apiserver + etcd, the real API server and the operator as processes.

Each test works in its own namespace; the module shares one API server and one operator watching all namespaces.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.e2e.conftest import REPO
from tests.support.api_server import ApiServer, running_api_server
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess, running_operator
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

TIMEOUT = 60.0
DRIFT_INTERVAL = 6.0


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


class Remote:
    """Reads and out-of-band writes against the API server, as a person with an admin key would make them."""

    def __init__(self, api: ApiServer) -> None:
        self.http = httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {api.admin_key}"}, timeout=10)

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def get(self, collection: str, name: str) -> dict[str, Any] | None:
        response = self.http.get(f"/v1/{collection}/{name}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def names(self, collection: str, prefix: str) -> list[str]:
        names: list[str] = []
        cursor: str | None = None
        while True:
            params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
            page = self.http.get(f"/v1/{collection}", params=params).raise_for_status().json()
            names += [item["name"] for item in page["items"] if item["name"].startswith(prefix)]
            cursor = page.get("next_cursor")
            if not cursor:
                return names

    def edit_spec(self, collection: str, name: str, changes: dict[str, Any]) -> None:
        """An out-of-band edit that keeps the manager block, the way a script holding the same identity would."""
        current = self.get(collection, name)
        assert current is not None
        body = {"spec": {**current["spec"], **changes}, "labels": current["labels"], "manager": current["manager"]}
        self.http.put(
            f"/v1/{collection}/{name}", json=body, headers={"If-Match": f'"{current["version"]}"'}
        ).raise_for_status()


@pytest.fixture
def remote(api: ApiServer) -> Iterator[Remote]:
    client = Remote(api)
    yield client
    client.http.close()


def get(cluster: Cluster, kind: str, namespace: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = cluster.kubectl_json("get", kind, name, "-n", namespace)
    return result


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for entry in obj.get("status", {}).get("conditions", []):
        if entry["type"] == kind:
            return dict(entry)
    return {}


def wait_condition(
    cluster: Cluster, kind: str, namespace: str, name: str, type_: str, status: str, reason: str | None = None
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        obj = get(cluster, kind, namespace, name)
        found = condition(obj, type_)
        generation_seen = obj["status"].get("observedGeneration") == obj["metadata"]["generation"]
        if found.get("status") == status and (reason is None or found.get("reason") == reason) and generation_seen:
            return obj
        return None

    result = wait_until(check, timeout=TIMEOUT, interval=0.2, what=f"{kind}/{name} {type_}={status} ({reason})")
    assert isinstance(result, dict)
    return result


def events(cluster: Cluster, namespace: str, name: str) -> list[tuple[str, str, str]]:
    listed = cluster.kubectl_json("get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}")
    return [(item["type"], item["reason"], item.get("message", "")) for item in listed["items"]]


def wait_event(cluster: Cluster, namespace: str, name: str, reason: str) -> str:
    def find() -> str | None:
        return next((message for _, r, message in events(cluster, namespace, name) if r == reason), None)

    found = wait_until(find, timeout=TIMEOUT, what=f"event {reason} on {name}")
    assert isinstance(found, str)
    return found


ON_CALL = ("user.yaml", "team.yaml", "schedule.yaml", "escalationpolicy.yaml")
"""The samples the escalation policy needs (people, their team and schedule), and the policy itself."""


def sample(name: str, namespace: str) -> str:
    """A sample manifest for `namespace`: e-mail addresses are unique per SignalCraft, so each namespace's people get
    their own (the samples are applied once per test namespace against one API server)."""
    return (REPO / "config" / "samples" / name).read_text().replace("@example.com", f"@{namespace}.example.com")


def apply_samples(cluster: Cluster, namespace: str, *names: str) -> None:
    for name in names or (*ON_CALL, "alertpolicy.yaml"):
        cluster.apply(sample(name, namespace), namespace)


def test_create_update_and_events(operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote) -> None:
    apply_samples(crds, namespace)
    policy = wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Ready", "True")
    assert policy["status"]["remoteName"] == f"{namespace}.db-cpu"
    stored = remote.get("alert-policies", f"{namespace}.db-cpu")
    assert stored is not None
    assert policy["status"]["remoteId"] == stored["id"]
    assert stored["spec"]["routing_key"] == "db-team"
    assert stored["spec"]["escalation_policy"] == {"name": f"{namespace}.db-oncall"}
    assert stored["manager"]["identity"].endswith(f"/{namespace}/AlertPolicy/db-cpu")
    assert "created SignalCraft alert-policies object" in wait_event(crds, namespace, "db-cpu", "Created")
    for kind in ("Ready", "Synced"):
        assert condition(policy, kind)["observedGeneration"] == policy["metadata"]["generation"]

    crds.kubectl(
        "patch", "alertpolicy", "db-cpu", "-n", namespace, "--type=merge", "-p", '{"spec":{"severity":"warning"}}'
    )
    updated = wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Ready", "True")
    assert updated["metadata"]["generation"] == 2
    assert updated["status"]["observedGeneration"] == 2
    stored = remote.get("alert-policies", f"{namespace}.db-cpu")
    assert stored is not None
    assert stored["spec"]["severity"] == "warning"
    assert "/severity" in wait_event(crds, namespace, "db-cpu", "Updated")


def test_missing_reference_resolves_when_it_appears(operator: OperatorProcess, crds: Cluster, namespace: str) -> None:
    crds.kubectl("apply", "-n", namespace, "-f", str(REPO / "config" / "samples" / "alertpolicy.yaml"))
    waiting = wait_condition(
        crds, "alertpolicy", namespace, "db-cpu", "ReferencesResolved", "False", "ReferenceNotFound"
    )
    assert condition(waiting, "Ready")["status"] == "False"
    assert "EscalationPolicy 'db-oncall'" in wait_event(crds, namespace, "db-cpu", "ReferenceNotFound")
    # Only event-driven passes count: the drift loop also visits the AlertPolicies earlier tests left behind.
    reconciles_before = operator.counter("signalcraft_operator_reconciles", kind="AlertPolicy", mode="change")
    nudges_before = operator.counter("signalcraft_operator_kubernetes_writes", what="resync")
    apply_samples(crds, namespace, *ON_CALL)
    wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Ready", "True")
    # Resolved by the EscalationPolicy's own event, not by a polling loop: only a couple of passes happened.
    assert (
        operator.counter("signalcraft_operator_reconciles", kind="AlertPolicy", mode="change") - reconciles_before <= 3
    )
    assert operator.counter("signalcraft_operator_kubernetes_writes", what="resync") > nudges_before


def test_cross_namespace_reference_is_refused(crds: Cluster, namespace: str) -> None:
    manifest = (REPO / "config" / "samples" / "alertpolicy.yaml").read_text()
    manifest = manifest.replace("    name: db-oncall", "    name: db-oncall\n    namespace: elsewhere")
    refused = crds.apply(manifest, namespace, check=False)
    assert refused.returncode != 0
    assert 'unknown field "spec.escalationPolicyRef.namespace"' in refused.stderr


def test_drift_is_corrected(operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote) -> None:
    apply_samples(crds, namespace)
    wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Ready", "True")
    remote.edit_spec("alert-policies", f"{namespace}.db-cpu", {"severity": "info"})

    def corrected() -> bool:
        stored = remote.get("alert-policies", f"{namespace}.db-cpu")
        return stored is not None and stored["spec"]["severity"] == "critical"

    wait_until(corrected, timeout=TIMEOUT, what="the drift to be corrected")
    assert "/severity" in wait_event(crds, namespace, "db-cpu", "Drifted")


def test_drift_is_reported(operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote) -> None:
    apply_samples(crds, namespace)
    crds.kubectl(
        "patch", "alertpolicy", "db-cpu", "-n", namespace, "--type=merge", "-p", '{"spec":{"driftPolicy":"Report"}}'
    )
    wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Ready", "True")
    remote.edit_spec("alert-policies", f"{namespace}.db-cpu", {"routing_key": "someone-else"})
    reported = wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Drifted", "True")
    assert reported["status"]["driftedFields"] == ["/routing_key"]
    assert "/routing_key" in condition(reported, "Drifted")["message"]
    stored = remote.get("alert-policies", f"{namespace}.db-cpu")
    assert stored is not None
    assert stored["spec"]["routing_key"] == "someone-else", "Report must not write to SignalCraft"


def test_delete_and_orphan(operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote) -> None:
    apply_samples(crds, namespace)
    wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Ready", "True")
    crds.kubectl(
        "patch",
        "escalationpolicy",
        "db-oncall",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"deletionPolicy":"Orphan"}}',
    )
    wait_condition(crds, "escalationpolicy", namespace, "db-oncall", "Ready", "True")

    crds.kubectl("delete", "alertpolicy", "db-cpu", "-n", namespace, "--timeout=60s")
    assert remote.get("alert-policies", f"{namespace}.db-cpu") is None
    crds.kubectl("delete", "escalationpolicy", "db-oncall", "-n", namespace, "--timeout=60s")
    kept = remote.get("escalation-policies", f"{namespace}.db-oncall")
    assert kept is not None
    assert kept["manager"] is None, "Orphan releases ownership and keeps the object"


def test_blocked_delete_lists_referrers_and_completes(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    apply_samples(crds, namespace)
    wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Ready", "True")
    crds.kubectl("delete", "escalationpolicy", "db-oncall", "-n", namespace, "--wait=false")

    def blocked() -> dict[str, Any] | None:
        found = condition(get(crds, "escalationpolicy", namespace, "db-oncall"), "DeletionBlocked")
        return found if found.get("status") == "True" else None

    found = wait_until(blocked, timeout=TIMEOUT, what="DeletionBlocked")
    assert isinstance(found, dict)
    assert f"{namespace}.db-cpu" in found["message"]
    assert f"{namespace}.db-cpu" in wait_event(crds, namespace, "db-oncall", "DeletionBlocked")
    crds.kubectl("delete", "alertpolicy", "db-cpu", "-n", namespace, "--timeout=60s")
    crds.kubectl("wait", "--for=delete", "escalationpolicy/db-oncall", "-n", namespace, "--timeout=120s")
    assert remote.get("escalation-policies", f"{namespace}.db-oncall") is None


def test_integration_connection_secret_and_rotation(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    crds.kubectl("create", "secret", "generic", "grafana-hmac", "-n", namespace, "--from-literal=secret=first-value")
    crds.apply(
        """
apiVersion: signalcraft.io/v1alpha1
kind: Integration
metadata: {name: grafana}
spec:
  type: grafana
  credentials:
    hmacSecret: {secretKeyRef: {name: grafana-hmac, key: secret}}
  writeConnectionSecretToRef: {name: grafana-signalcraft}
""",
        namespace,
    )
    ready = wait_condition(crds, "integration", namespace, "grafana", "Ready", "True")
    first_versions = ready["status"]["credentialsSecretVersions"]
    assert "first-value" not in json.dumps(ready), "a secret value leaked into the resource"
    secret = crds.kubectl_json("get", "secret", "grafana-signalcraft", "-n", namespace)
    assert set(secret["data"]) == {"webhookURL", "webhookToken", "integrationKey"}
    assert secret["metadata"]["ownerReferences"][0]["name"] == "grafana"
    token = base64.b64decode(secret["data"]["webhookToken"]).decode()
    assert token not in json.dumps(ready), "the webhook token leaked into the status"
    assert ready["status"]["webhookURL"].endswith("/api/v1/webhooks/grafana/<grafana-signalcraft>")
    stored = remote.get("integrations", f"{namespace}.grafana")
    assert stored is not None
    assert "first-value" not in json.dumps(stored)
    version = stored["version"]

    manifest = crds.kubectl(
        "create",
        "secret",
        "generic",
        "grafana-hmac",
        "-n",
        namespace,
        "--from-literal=secret=second-value",
        "--dry-run=client",
        "-o",
        "yaml",
    ).stdout
    started = time.monotonic()
    crds.apply(manifest, namespace)

    def rotated() -> bool:
        return get(crds, "integration", namespace, "grafana")["status"].get("credentialsSecretVersions") not in (
            None,
            first_versions,
        )

    wait_until(rotated, timeout=TIMEOUT, what="the rotated Secret to be synced")
    assert time.monotonic() - started < 15, "rotation must re-sync within seconds, not at the next drift check"
    stored = remote.get("integrations", f"{namespace}.grafana")
    assert stored is not None
    assert stored["version"] > version


def test_a_connection_secret_someone_else_owns_is_never_taken_over(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    crds.kubectl("create", "secret", "generic", "taken", "-n", namespace, "--from-literal=password=keep-me")
    crds.apply(
        """
apiVersion: signalcraft.io/v1alpha1
kind: Integration
metadata: {name: events}
spec:
  type: events-api
  writeConnectionSecretToRef: {name: taken}
""",
        namespace,
    )
    refused = wait_condition(crds, "integration", namespace, "events", "Ready", "False", "ConnectionSecretConflict")
    assert condition(refused, "Stalled")["status"] == "True"
    assert condition(refused, "Synced")["status"] == "True", "the SignalCraft object itself is in sync"
    assert "taken" in wait_event(crds, namespace, "events", "ConnectionSecretConflict")
    secret = crds.kubectl_json("get", "secret", "taken", "-n", namespace)
    assert base64.b64decode(secret["data"]["password"]).decode() == "keep-me"
    assert set(secret["data"]) == {"password"}
    assert not secret["metadata"].get("ownerReferences"), "ownership must not be taken"
    # Deleting the Secret's owner-to-be must not garbage-collect it; freeing the name lets the operator write its own.
    crds.kubectl("delete", "secret", "taken", "-n", namespace)
    ready = wait_condition(crds, "integration", namespace, "events", "Ready", "True")
    written = crds.kubectl_json("get", "secret", "taken", "-n", namespace)
    assert written["metadata"]["ownerReferences"][0]["uid"] == ready["metadata"]["uid"]
    crds.kubectl("create", "secret", "generic", "bystander", "-n", namespace, "--from-literal=k=v")
    crds.kubectl("delete", "integration", "events", "-n", namespace, "--timeout=60s")
    crds.kubectl("get", "secret", "bystander", "-n", namespace)
    assert remote.get("integrations", f"{namespace}.events") is None


def test_suspend_stops_api_calls(operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote) -> None:
    apply_samples(crds, namespace)
    wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Ready", "True")
    crds.kubectl(
        "patch",
        "alertpolicy",
        "db-cpu",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"suspend":true,"severity":"info"}}',
    )
    suspended = wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Synced", "False", "Suspended")
    assert "suspend" in condition(suspended, "Synced")["message"]
    stored = remote.get("alert-policies", f"{namespace}.db-cpu")
    assert stored is not None
    assert stored["spec"]["severity"] == "critical"


def test_no_op_drift_pass_writes_nothing(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    apply_samples(crds, namespace)
    for item in crds.kubectl_json("get", "signalcraft", "-n", namespace)["items"]:  # every sample settled first
        wait_condition(crds, item["kind"].lower(), namespace, item["metadata"]["name"], "Ready", "True")

    def snapshot() -> dict[str, Any]:
        """resourceVersion and SignalCraft version of every resource of this namespace."""
        listed = crds.kubectl_json("get", "signalcraft", "-n", namespace)["items"]
        return {
            (item["kind"], item["metadata"]["name"]): (
                item["metadata"]["resourceVersion"],
                item["status"].get("remoteVersion"),
            )
            for item in listed
        }

    # Two drift passes over every resource of every namespace cover these at least once each.
    before = snapshot()
    everything = len(crds.kubectl_json("get", "signalcraft", "-A")["items"])
    drift_passes = operator.counter("signalcraft_operator_reconciles", mode="drift")
    wait_until(
        lambda: operator.counter("signalcraft_operator_reconciles", mode="drift") >= drift_passes + 2 * everything,
        timeout=4 * DRIFT_INTERVAL + TIMEOUT,
        what="two drift passes",
    )
    assert snapshot() == before, "a drift pass over in-sync objects wrote to Kubernetes or SignalCraft"
    assert len(before) == 7, before
    for (kind, name), (_, version) in before.items():
        collection = {"User": "users", "Team": "teams", "Schedule": "schedules"}.get(kind)
        collection = collection or {"EscalationPolicy": "escalation-policies", "AlertPolicy": "alert-policies"}[kind]
        stored = remote.get(collection, f"{namespace}.{name}")
        assert stored is not None
        assert stored["version"] == version, f"{kind} {name} was written to SignalCraft"


def policy_before_its_escalation(crds: Cluster, namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The AlertPolicy applied first (so it waits), then its EscalationPolicy: (waiting policy, Ready escalation)."""
    crds.kubectl("apply", "-n", namespace, "-f", str(REPO / "config" / "samples" / "alertpolicy.yaml"))
    waiting = wait_condition(crds, "alertpolicy", namespace, "db-cpu", "ReferencesResolved", "False")
    apply_samples(crds, namespace, *ON_CALL)
    return waiting, wait_condition(crds, "escalationpolicy", namespace, "db-oncall", "Ready", "True")


def test_argocd_health_of_live_objects(operator: OperatorProcess, crds: Cluster, namespace: str) -> None:
    """The shipped health.lua, evaluated on objects exactly as the operator left them."""
    from tests.support.argocd import health

    waiting, _ = policy_before_its_escalation(crds, namespace)
    assert health(waiting)[0] == "Progressing"
    ready = wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Ready", "True")
    assert health(ready) == ("Healthy", condition(ready, "Ready")["message"])
    crds.kubectl("patch", "alertpolicy", "db-cpu", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":true}}')
    suspended = wait_condition(crds, "alertpolicy", namespace, "db-cpu", "Synced", "False", "Suspended")
    assert health(suspended)[0] == "Suspended"


def test_kstatus_reads_our_objects_like_flux_does(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    from tests.support.kstatus import kstatus

    waiting, ready = policy_before_its_escalation(crds, namespace)
    foreign = f"{namespace}.foreign"
    body = {"spec": {"severity": "info", "routing_key": "f"}, "manager": {"kind": "terraform", "identity": "tf://x"}}
    remote.http.put(f"/v1/alert-policies/{foreign}", json=body).raise_for_status()
    crds.apply(
        "apiVersion: signalcraft.io/v1alpha1\nkind: AlertPolicy\nmetadata: {name: claimed}\n"
        f"spec: {{severity: info, routingKey: c, remoteName: {foreign}}}",
        namespace,
    )
    stalled = wait_condition(crds, "alertpolicy", namespace, "claimed", "Stalled", "True")
    assert kstatus(waiting, ready, stalled) == ["InProgress", "Current", "Failed"]


def test_jira_integration_from_kubernetes_shows_its_last_outbound_call(
    operator: OperatorProcess, crds: Cluster, namespace: str, remote: Remote
) -> None:
    from datetime import UTC, datetime

    from tests.support.ticketing import FakeJira, serving

    with serving(FakeJira()) as jira:
        crds.kubectl(
            "create",
            "secret",
            "generic",
            "jira-creds",
            "-n",
            namespace,
            f"--from-literal=email={jira.email}",
            f"--from-literal=token={jira.api_token}",
        )
        crds.apply(
            f"""
apiVersion: signalcraft.io/v1alpha1
kind: Integration
metadata: {{name: jira}}
spec:
  type: jira
  jira: {{baseUrl: "{jira.url}", projectKey: OPS, autoCreateSeverity: critical}}
  credentials:
    email: {{secretKeyRef: {{name: jira-creds, key: email}}}}
    apiToken: {{secretKeyRef: {{name: jira-creds, key: token}}}}
""",
            namespace,
        )
        wait_condition(crds, "integration", namespace, "jira", "Ready", "True")
        stored = remote.get("integrations", f"{namespace}.jira")
        assert stored is not None
        assert stored["status"]["credentials_set"] == ["api_token", "email"]
        assert stored["spec"]["jira"]["project_key"] == "OPS"
        event = {
            "source": "alertmanager",
            "integration": f"{namespace}-am",
            "group_key": "g",
            "dedup_key": "a",
            "status": "firing",
            "severity": "critical",
            "summary": "db down",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        remote.http.post("/v1/alert-events", json={"events": [event]}).raise_for_status()

        def reported() -> bool:
            status = get(crds, "integration", namespace, "jira")["status"]
            return bool(status.get("lastOutboundCall", {}).get("ok"))

        wait_until(reported, timeout=TIMEOUT, what="lastOutboundCall in the Integration's status")
        assert jira.created, "the ticket was created through the integration declared in Kubernetes"
