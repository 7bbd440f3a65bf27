"""The Helm chart with the real helm and kubectl against the real control plane: lint, template, schema errors,
install, upgrade, and the chart's RBAC proven enough (and no more) by running the operator as its ServiceAccount."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.e2e.conftest import REPO
from tests.e2e.test_operator import Remote, wait_condition
from tests.support.api_server import ApiServer, running_api_server
from tests.support.kube import Cluster
from tests.support.operator import running_operator

pytestmark = pytest.mark.e2e

CHART = REPO / "helm" / "signalcraft-operator"
API = ["--set", "api.url=https://api.signalcraft.example"]


def helm(cluster: Cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(cluster.helm_path), *args], capture_output=True, text=True, env=cluster.env, timeout=300, check=False
    )
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def render(cluster: Cluster, *values: str) -> list[dict[str, Any]]:
    output = helm(cluster, "template", "rel", str(CHART), "-n", "signalcraft", *API, *values).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["--set", "watchNamespaces={team-a,team-b}", "--set", "clusterId=prod-eu"],
        ["--set", "crds.enabled=false", "--set", "webhook.enabled=false"],
        ["--set", "webhook.alertmanagerConfig.enabled=true", "--set", "operator.metrics.serviceMonitor.enabled=true"],
    ],
    ids=["default", "namespaced", "no-crds-no-webhook", "prometheus-operator"],
)
def test_lint_and_render_the_main_combinations(cluster: Cluster, values: list[str]) -> None:
    helm(cluster, "lint", "--strict", str(CHART), *API, *values)
    kinds = [doc["kind"] for doc in render(cluster, *values)]
    assert kinds.count("Deployment") == (1 if "webhook.enabled=false" in values else 2)
    namespaced = "watchNamespaces={team-a,team-b}" in values
    assert ("Role" in kinds) is namespaced
    assert ("ClusterRole" in kinds) is not namespaced


def test_rendered_manifests_pass_server_side_validation(crds: Cluster, namespace: str) -> None:
    documents = [doc for doc in render(crds) if doc["kind"] != "CustomResourceDefinition"]
    for doc in documents:
        doc["metadata"]["namespace"] = namespace if "namespace" in doc["metadata"] else doc["metadata"].get("namespace")
    manifest = yaml.safe_dump_all(documents)
    crds.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", stdin=manifest)


def test_hardening_defaults(cluster: Cluster) -> None:
    deployments = {doc["metadata"]["name"]: doc for doc in render(cluster) if doc["kind"] == "Deployment"}
    operator = deployments["rel-signalcraft-operator"]["spec"]
    assert operator["replicas"] == 1
    assert operator["strategy"]["type"] == "Recreate"
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        container = pod["containers"][0]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert deployments["rel-signalcraft-webhook"]["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["--set", "typo=1"], "additional properties 'typo' not allowed"),
        (["--set", "operator.workerLimit=0"], "at '/operator/workerLimit': minimum: got 0, want 1"),
        (["--set", "watchNamespaces={Bad_Name}"], "at '/watchNamespaces/0'"),
    ],
)
def test_schema_violations_fail_with_a_clear_message(cluster: Cluster, values: list[str], message: str) -> None:
    result = helm(cluster, "template", "rel", str(CHART), *API, *values, check=False)
    assert result.returncode != 0
    assert message in result.stderr


def test_missing_api_url_is_explained(cluster: Cluster) -> None:
    result = helm(cluster, "template", "rel", str(CHART), check=False)
    assert "api.url is required" in result.stderr


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with running_api_server(tmp_path / "api") as server:
        yield server


def test_install_upgrade_and_run_as_the_chart_service_account(crds: Cluster, api: ApiServer, tmp_path: Path) -> None:
    system, team, other = (crds.create_namespace(prefix) for prefix in ("sc-system", "team-a", "team-b"))
    values = ["--set", f"watchNamespaces={{{team}}}", "--set", "webhook.enabled=false", "--set", "crds.enabled=false"]
    helm(crds, "install", "sc", str(CHART), "-n", system, *API, *values)
    helm(crds, "upgrade", "sc", str(CHART), "-n", system, *API, *values, "--set", "operator.workerLimit=10")
    assert "REVISION: 2" in helm(crds, "status", "sc", "-n", system).stdout

    kubeconfig = crds.service_account_kubeconfig(system, "sc-signalcraft-operator", tmp_path / "operator.kubeconfig")
    as_operator = Cluster(kubeconfig, crds.kubectl_path, crds.helm_path)
    crds.kubectl("create", "secret", "generic", "elsewhere", "-n", other, "--from-literal=k=v")
    denied = as_operator.kubectl("get", "secret", "elsewhere", "-n", other, check=False)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()

    with running_operator(as_operator, api.url, api.admin_key, tmp_path / "op", namespaces=[team]):
        for sample in ("escalationpolicy.yaml", "alertpolicy.yaml", "integration.yaml"):
            crds.kubectl("apply", "-n", team, "-f", str(REPO / "config" / "samples" / sample))
        wait_condition(crds, "alertpolicy", team, "db-cpu", "Ready", "True")
        wait_condition(crds, "integration", team, "cluster-alertmanager", "Ready", "True")
        crds.kubectl("get", "secret", "cluster-alertmanager-signalcraft", "-n", team)
        events = crds.kubectl_json("get", "events", "-n", team)["items"]
        assert any(event["reason"] == "Created" for event in events), "the chart's RBAC lets the operator post Events"
        crds.kubectl("delete", "alertpolicy", "db-cpu", "-n", team, "--timeout=60s")
    with Remote(api) as remote:
        assert remote.get("alert-policies", f"{team}.db-cpu") is None
        assert remote.get("escalation-policies", f"{team}.db-oncall") is not None
    helm(crds, "uninstall", "sc", "-n", system)
