"""The generated CRDs on a real kube-apiserver: bad objects are refused at admission with an actionable message."""

from __future__ import annotations

import pytest
from tests.e2e.conftest import REPO
from tests.support.kstatus import kstatus
from tests.support.kube import Cluster

ESCALATION = """
apiVersion: signalcraft.io/v1alpha1
kind: EscalationPolicy
metadata: {{name: {name}}}
spec:
  rules:
    - delayMinutes: {delay}
      targets: [{target}]
"""


def _refused(cluster: Cluster, namespace: str, manifest: str) -> str:
    result = cluster.apply(manifest, namespace, check=False)
    assert result.returncode != 0, f"the API server accepted an invalid object:\n{manifest}"
    return result.stderr


def test_samples_are_accepted_and_listed_by_category(crds: Cluster, namespace: str) -> None:
    for sample in sorted((REPO / "config" / "samples").glob("*.yaml")):
        crds.kubectl("apply", "-n", namespace, "-f", str(sample))
    listed = crds.kubectl("get", "signalcraft", "-n", namespace).stdout
    for name in ("db-oncall", "db-cpu", "cluster-alertmanager"):
        assert name in listed
    header = crds.kubectl("get", "alertpolicies", "-n", namespace).stdout.splitlines()[0].split()
    assert header[:4] == ["NAME", "READY", "SYNCED", "REMOTE-ID"]
    policy = crds.kubectl_json("get", "alertpolicy", "db-cpu", "-n", namespace)
    assert policy["spec"]["deletionPolicy"] == "Delete", "defaults from the model are applied by the API server"
    # Nobody reconciled it yet: the defaulted status reads as in progress, never as Current.
    conditions = {c["type"]: c["status"] for c in policy["status"]["conditions"]}
    assert conditions == {"Ready": "Unknown", "Reconciling": "True"}
    assert policy["status"]["observedGeneration"] == 0
    assert kstatus(policy) == ["InProgress"], "Flux must not read a never-reconciled object as Current"


def test_short_names_and_explain(crds: Cluster, namespace: str) -> None:
    crds.kubectl("get", "scap,scep,scint", "-n", namespace)
    explained = crds.kubectl("explain", "alertpolicy.spec.routingKey").stdout
    assert "Events sent with this routing key are handled by this policy." in explained


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            ESCALATION.format(name="both", delay=0, target="{type: user, id: u1, name: alice}"),
            "exactly one of id, name, scheduleRef, userRef or teamRef",
        ),
        (ESCALATION.format(name="neither", delay=0, target="{type: user}"), "exactly one of id, name, scheduleRef"),
        (
            ESCALATION.format(name="slow", delay=5000, target="{type: user, id: u1}"),
            "should be less than or equal to 1440",
        ),
        (ESCALATION.format(name="kind", delay=1, target="{type: robot, id: u1}"), 'Unsupported value: "robot"'),
    ],
    ids=["id-and-name", "no-target-id", "delay-bound", "target-enum"],
)
def test_invalid_escalation_policies_are_refused(crds: Cluster, namespace: str, manifest: str, message: str) -> None:
    assert message in _refused(crds, namespace, manifest)


def test_invalid_alert_policy_is_refused_with_every_reason(crds: Cluster, namespace: str) -> None:
    stderr = _refused(
        crds,
        namespace,
        """
apiVersion: signalcraft.io/v1alpha1
kind: AlertPolicy
metadata: {name: bad}
spec:
  severity: disaster
  routingKey: "not a key"
  conditions:
    - {type: metric_threshold, metric: cpu, operator: gt, value: 1}
""",
    )
    assert 'spec.severity: Unsupported value: "disaster"' in stderr
    assert "spec.routingKey" in stderr
    duplicate = "apiVersion: signalcraft.io/v1alpha1\nkind: AlertPolicy\nmetadata: {name: twice}\n"
    duplicate += "spec: {severity: info, routingKey: k, conditions: [{type: metric_threshold, metric: cpu, "
    duplicate += "operator: gt, value: 1}, {type: metric_threshold, metric: cpu, operator: gt, value: 2}]}"
    assert "each metric/operator pair may appear only once" in _refused(crds, namespace, duplicate)
    typo = "apiVersion: signalcraft.io/v1alpha1\nkind: AlertPolicy\nmetadata: {name: typo}\n"
    typo += "spec: {severity: info, routingKey: k, routingkey: k}"
    assert 'unknown field "spec.routingkey"' in _refused(crds, namespace, typo)


def test_integration_settings_must_match_its_type(crds: Cluster, namespace: str) -> None:
    stderr = _refused(
        crds,
        namespace,
        """
apiVersion: signalcraft.io/v1alpha1
kind: Integration
metadata: {name: mixed}
spec:
  type: grafana
  jira: {baseUrl: "https://example.atlassian.net", projectKey: OPS}
""",
    )
    assert "jira settings are only allowed when type is jira" in stderr
    stderr = _refused(
        crds,
        namespace,
        "apiVersion: signalcraft.io/v1alpha1\nkind: Integration\nmetadata: {name: j}\nspec: {type: jira}",
    )
    assert "type jira needs jira settings" in stderr
    stderr = _refused(
        crds,
        namespace,
        "apiVersion: signalcraft.io/v1alpha1\nkind: Integration\nmetadata: {name: jf}\nspec: {type: jira, "
        'jira: {baseUrl: "https://x.atlassian.net", projectKey: OPS, customFields: {summary: "{severity}"}}}',
    )
    assert "keys must match ^customfield_[0-9]+$" in stderr


def test_remote_name_and_type_are_immutable(crds: Cluster, namespace: str) -> None:
    crds.apply(
        "apiVersion: signalcraft.io/v1alpha1\nkind: Integration\nmetadata: {name: am}\n"
        "spec: {type: alertmanager, remoteName: team-a.am}",
        namespace,
    )
    stderr = _refused(
        crds,
        namespace,
        "apiVersion: signalcraft.io/v1alpha1\nkind: Integration\nmetadata: {name: am}\n"
        "spec: {type: grafana, remoteName: team-b.am}",
    )
    assert "remoteName is immutable" in stderr
    assert "type is immutable" in stderr
