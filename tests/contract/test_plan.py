"""`signalcraft plan` and `signalcraft export` against the real API server: no cluster involved."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import yaml
from tests.contract.test_api_resources import unique
from tests.support.api_server import ApiServer

REPO = Path(__file__).resolve().parents[2]


def run(api: ApiServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    key_file = tmp_path / "key"
    key_file.write_text(api.admin_key)
    argv = [sys.executable, "-m", "signalcraft", *args, "--api-url", api.url, "--api-key-file", str(key_file)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


ESCALATION_MANIFEST = """
apiVersion: signalcraft.io/v1alpha1
kind: EscalationPolicy
metadata:
  name: db-oncall
spec:
  description: Database on-call, then the database team lead.
  rules:
    - delayMinutes: 0
      targets:
        - type: schedule
          name: db-primary
    - delayMinutes: 15
      targets:
        - type: user
          name: db-lead
  repeat: 1
"""


def apply_like_the_operator(
    admin: httpx.Client, cluster: str, namespace: str, collection: str, kind: str, name: str, spec: dict[str, object]
) -> None:
    manager = {"kind": "kubernetes", "identity": f"k8s://{cluster}/{namespace}/{kind}/{name}"}
    admin.put(f"/v1/{collection}/{namespace}.{name}", json={"spec": spec, "manager": manager}).raise_for_status()


def test_plan_create_noop_update_orphan_and_conflict(api: ApiServer, admin: httpx.Client, tmp_path: Path) -> None:
    cluster, namespace = unique("c"), unique("ns")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    shutil.copy(REPO / "config" / "samples" / "alertpolicy.yaml", manifests / "alertpolicy.yaml")
    # The escalation policy names SignalCraft's own schedule and user (the sample refers to Schedule/User resources).
    (manifests / "escalationpolicy.yaml").write_text(ESCALATION_MANIFEST)
    plan = ["plan", "-f", str(manifests), "--cluster-id", cluster, "--namespace", namespace]

    created = run(api, tmp_path, *plan)
    assert created.returncode == 2, created.stderr
    assert f"create  escalation-policies/{namespace}.db-oncall" in created.stdout
    assert f"create  alert-policies/{namespace}.db-cpu" in created.stdout

    escalation = {
        "rules": [
            {"delay_minutes": 0, "targets": [{"type": "schedule", "name": "db-primary"}]},
            {"delay_minutes": 15, "targets": [{"type": "user", "name": "db-lead"}]},
        ],
        "num_loops": 1,
        "description": "Database on-call, then the database team lead.",
    }
    apply_like_the_operator(
        admin, cluster, namespace, "escalation-policies", "EscalationPolicy", "db-oncall", escalation
    )
    policy = {
        "severity": "critical",
        "routing_key": "db-team",
        "conditions": [{"type": "metric_threshold", "metric": "cpu_usage", "operator": "gt", "value": 90}],
        "escalation_policy": {"name": f"{namespace}.db-oncall"},
    }
    apply_like_the_operator(admin, cluster, namespace, "alert-policies", "AlertPolicy", "db-cpu", policy)
    unchanged = run(api, tmp_path, *plan)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "Plan: 0 create, 0 update, 0 adopt, 0 delete, 0 conflict, 2 no-op" in unchanged.stdout

    (manifests / "alertpolicy.yaml").write_text(
        (manifests / "alertpolicy.yaml").read_text().replace("critical", "warning")
    )
    apply_like_the_operator(
        admin, cluster, namespace, "alert-policies", "AlertPolicy", "gone", {"severity": "info", "routing_key": "old"}
    )
    changed = run(api, tmp_path, *plan)
    assert changed.returncode == 2
    assert "~ /severity: 'critical' -> 'warning'" in changed.stdout
    assert f"delete  alert-policies/{namespace}.gone" in changed.stdout

    other = run(api, tmp_path, "plan", "-f", str(manifests), "--cluster-id", "someone-else", "--namespace", namespace)
    assert other.returncode == 1
    assert "conflict" in other.stdout

    (manifests / "broken.yaml").write_text(
        "apiVersion: signalcraft.io/v1alpha1\nkind: AlertPolicy\nmetadata: {name: x}\nspec: {severity: loud}\n"
    )
    broken = run(api, tmp_path, *plan)
    assert broken.returncode == 1
    assert "does not validate" in broken.stderr


def test_export_writes_crs_that_adopt_unmanaged_objects(api: ApiServer, admin: httpx.Client, tmp_path: Path) -> None:
    name = unique("clickops")
    admin.put(
        f"/v1/escalation-policies/{name}",
        json={"spec": {"rules": [{"delay_minutes": 5, "targets": [{"type": "team", "name": "sre"}]}], "num_loops": 2}},
    ).raise_for_status()
    exported = run(api, tmp_path, "export", "--namespace", "imported")
    assert exported.returncode == 0, exported.stderr
    documents = [doc for doc in yaml.safe_load_all(exported.stdout) if doc]
    (mine,) = [doc for doc in documents if doc["spec"]["remoteName"] == name]
    assert mine["kind"] == "EscalationPolicy"
    assert mine["spec"]["repeat"] == 2
    assert mine["spec"]["rules"] == [{"delayMinutes": 5, "targets": [{"type": "team", "name": "sre"}]}]
    assert mine["metadata"]["namespace"] == "imported"
