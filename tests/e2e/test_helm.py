"""The Helm chart on the real control plane: server-side validation of what it renders, install, upgrade, uninstall,
and its RBAC proven enough, and no more, by running the operator and the webhook from the installed release's own
manifests as the release's ServiceAccounts (their tokens), with credentials from the Secrets the chart mounts."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.e2e.conftest import REPO
from tests.e2e.test_operator import ON_CALL, Remote, apply_samples, wait_condition
from tests.support.api_server import ApiServer, running_api_server
from tests.support.helm import (
    CHART,
    CLUSTER_ID_RULES,
    OPERATOR_RULES,
    container_argv,
    decode_secret,
    documents,
    helm,
    pod_spec,
    render,
)
from tests.support.kube import Cluster
from tests.support.processes import Program, free_port, wait_until
from tests.support.webhook import Alertmanager

from signalcraft.devcluster import binaries

pytestmark = pytest.mark.e2e

SAMPLES = REPO / "config" / "samples"
PROMETHEUS_OPERATOR_KINDS = {"ServiceMonitor", "AlertmanagerConfig"}
"""No Prometheus Operator CRDs on the local control plane: these two are checked by the unit tests only."""


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["--set", "clusterId=prod-eu"],
        ["--set", "crds.enabled=false", "--set", "webhook.enabled=false"],
        ["--set", "webhook.replicas=1", "--set", "webhook.spool.volume=emptyDir"],
    ],
    ids=["default", "cluster-id", "no-crds-no-webhook", "single-webhook"],
)
def test_rendered_manifests_pass_server_side_validation(crds: Cluster, namespace: str, values: list[str]) -> None:
    watched = crds.create_namespace("watched")
    for extra in ([], ["--set", f"watchNamespaces={{{watched}}}"]):
        docs = [
            doc for doc in render(*values, *extra, namespace=namespace) if doc["kind"] not in PROMETHEUS_OPERATOR_KINDS
        ]
        result = crds.kubectl(
            *("apply", "--server-side", "--dry-run=server", "--force-conflicts", "--field-manager=chart-check"),
            *("-f", "-"),
            stdin=yaml.safe_dump_all(docs),
        )
        assert result.stdout.count("serverside-applied (server dry run)") == len(docs)


def rules_granted(cluster: Cluster, namespace: str) -> set[tuple[str, str, str, str]]:
    """(apiGroup, resource, verb, resourceName) the cluster's user may use in `namespace` (SelfSubjectRulesReview)."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    # --validate=false: client-side validation would list CRDs, which these users may not do.
    created = cluster.kubectl("create", "--validate=false", "-f", "-", "-o", "json", stdin=yaml.safe_dump(review))
    status = json.loads(created.stdout)["status"]
    assert not status.get("incomplete"), status
    return expand(status["resourceRules"])


def granted_beyond_defaults(as_user: Cluster, admin: Cluster, namespace: str, workdir: Path) -> set[tuple[str, ...]]:
    """What `as_user` may do in `namespace` that a ServiceAccount bound to nothing may not (the self-reviews and
    discovery every authenticated user gets)."""
    nobody = f"nobody-{uuid.uuid4().hex[:6]}"
    admin.kubectl("create", "serviceaccount", nobody, "-n", namespace)
    kubeconfig = admin.service_account_kubeconfig(namespace, nobody, workdir / f"{nobody}.kubeconfig")
    defaults = rules_granted(Cluster(kubeconfig, admin.kubectl_path, admin.helm_path), namespace)
    granted = rules_granted(as_user, namespace)
    assert defaults <= granted
    return set(granted - defaults)


def expand(rules: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {
        (group, resource, verb, name)
        for rule in rules
        for group in rule.get("apiGroups", [""])
        for resource in rule["resources"]
        for verb in rule["verbs"]
        for name in rule.get("resourceNames") or ["*"]
    }


@dataclass
class Release:
    name: str
    namespace: str
    api: ApiServer
    cluster: Cluster
    workdir: Path

    def manifest(self) -> list[dict[str, Any]]:
        return documents(helm("get", "manifest", self.name, "-n", self.namespace, env=self.cluster.env).stdout)

    def as_service_account(self, component: str) -> Cluster:
        path = self.workdir / f"{component}.kubeconfig"
        kubeconfig = self.cluster.service_account_kubeconfig(
            self.namespace, f"{self.name}-signalcraft-{component}", path
        )
        return Cluster(kubeconfig, self.cluster.kubectl_path, self.cluster.helm_path)

    def start(self, component: str, ports: dict[int, int], env: dict[str, str], extra: list[str]) -> Program:
        """The component as its workload in the installed release would run it (volumes projected, ports mapped)."""
        pod = pod_spec(self.manifest(), f"{self.name}-signalcraft-{component}")
        argv = container_argv(pod, self.workdir / component, self.read_secret, ports)
        return Program([*argv, *extra], self.workdir / f"{component}.log", env=env).start()

    def read_secret(self, name: str) -> dict[str, str]:
        return decode_secret(self.cluster.kubectl_json("get", "secret", name, "-n", self.namespace))


def wait_serving(program: Program, url: str, what: str) -> None:
    def up() -> bool:
        assert program.running, f"{what} exited:\n{program.log()[-3000:]}"
        return httpx.get(url, timeout=2).is_success

    wait_until(up, timeout=60, what=what)


def install(cluster: Cluster, api: ApiServer, workdir: Path, name: str, *values: str) -> Release:
    """Create the Secrets the chart expects (as its NOTES say), then `helm install` with the test API's URL."""
    namespace = cluster.create_namespace(f"{name}-system")
    keys = {
        "signalcraft-operator-api-key": api.admin_key,
        "signalcraft-webhook-api-key": api.create_key(f"webhook-{namespace}", ["events:write"]),
    }
    for secret, key in keys.items():
        cluster.kubectl("create", "secret", "generic", secret, "-n", namespace, f"--from-literal=api-key={key}")
    cluster.kubectl(
        "create", "secret", "generic", "signalcraft-webhook-token", "-n", namespace, "--from-literal=token=t0k"
    )
    helm("install", name, str(CHART), "-n", namespace, "--set", f"api.url={api.url}", *values, env=cluster.env)
    workdir.mkdir(parents=True, exist_ok=True)
    return Release(name, namespace, api, cluster, workdir)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with running_api_server(tmp_path_factory.mktemp("api")) as server:
        yield server


@dataclass
class Namespaced:
    release: Release
    team: str
    other: str


@pytest.fixture(scope="module")
def namespaced(crds: Cluster, api: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Namespaced]:
    """A release watching one team namespace; the CRDs are the suite's (crds.enabled=false)."""
    team, other = crds.create_namespace("team-a"), crds.create_namespace("team-b")
    values = [
        *("--set", f"watchNamespaces={{{team}}}", "--set", "crds.enabled=false"),
        *("--set", f"webhook.integration={team}.cluster-alertmanager", "--set", "webhook.clusterName=e2e"),
    ]
    release = install(crds, api, tmp_path_factory.mktemp("namespaced"), "sc", *values)
    upgrade = (
        "upgrade",
        "sc",
        str(CHART),
        "-n",
        release.namespace,
        "--reuse-values",
        "--set",
        "operator.workerLimit=10",
    )
    helm(*upgrade, env=crds.env)
    yield Namespaced(release, team, other)
    helm("uninstall", "sc", "-n", release.namespace, env=crds.env)


def test_upgrade_changes_the_running_arguments(crds: Cluster, namespaced: Namespaced) -> None:
    release = namespaced.release
    status = helm("status", release.name, "-n", release.namespace, env=crds.env).stdout
    assert "REVISION: 2" in status
    assert "STATUS: deployed" in status
    (operator,) = pod_spec(release.manifest(), "sc-signalcraft-operator")["containers"]
    assert "--worker-limit=10" in operator["args"]
    assert f"--namespace={namespaced.team}" in operator["args"]


def test_namespaced_rbac_is_exactly_the_chart_rules(crds: Cluster, namespaced: Namespaced) -> None:
    release = namespaced.release
    as_operator = release.as_service_account("operator")
    workdir = release.workdir
    expected = expand(OPERATOR_RULES + CLUSTER_ID_RULES)
    assert granted_beyond_defaults(as_operator, crds, namespaced.team, workdir) == expected
    assert granted_beyond_defaults(as_operator, crds, namespaced.other, workdir) == expand(CLUSTER_ID_RULES)
    crds.kubectl("create", "secret", "generic", "elsewhere", "-n", namespaced.other, "--from-literal=k=v")
    denied = as_operator.kubectl("get", "secret", "elsewhere", "-n", namespaced.other, check=False)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr
    # The webhook's ServiceAccount has no token mounted and no rules at all: a token made for it can do nothing.
    as_webhook = release.as_service_account("webhook")
    assert granted_beyond_defaults(as_webhook, crds, release.namespace, workdir) == set()
    assert "forbidden" in as_webhook.kubectl("get", "secrets", "-n", release.namespace, check=False).stderr


def test_operator_from_the_release_reconciles_as_its_service_account(crds: Cluster, namespaced: Namespaced) -> None:
    release, team = namespaced.release, namespaced.team
    as_operator = release.as_service_account("operator")
    health = free_port()
    operator = release.start(
        "operator", {8080: health, 8081: free_port()}, {"KUBECONFIG": str(as_operator.kubeconfig)}, []
    )
    try:
        wait_serving(operator, f"http://127.0.0.1:{health}/healthz", "the operator")
        apply_samples(crds, team, *ON_CALL, "alertpolicy.yaml", "integration.yaml")
        wait_condition(crds, "alertpolicy", team, "db-cpu", "Ready", "True")
        wait_condition(crds, "integration", team, "cluster-alertmanager", "Ready", "True")
        connection = decode_secret(crds.kubectl_json("get", "secret", "cluster-alertmanager-signalcraft", "-n", team))
        assert connection["webhookURL"].startswith(release.api.url)
        reasons = {event["reason"] for event in crds.kubectl_json("get", "events", "-n", team)["items"]}
        assert "Created" in reasons, "the chart's RBAC lets the operator post Events"
        crds.kubectl("delete", "alertpolicy", "db-cpu", "-n", team, "--timeout=60s")
        with Remote(release.api) as remote:
            assert remote.get("alert-policies", f"{team}.db-cpu") is None
            assert remote.get("escalation-policies", f"{team}.db-oncall") is not None
        assert "Forbidden" not in operator.log(), operator.log()[-3000:]
    finally:
        operator.stop()


def alertmanager_from_the_example(workdir: Path, webhook_url: str, token: str) -> Alertmanager:
    """A real Alertmanager running config/alertmanager/alertmanager.yml, pointed at `webhook_url`, with short timers."""
    config = yaml.safe_load((REPO / "config" / "alertmanager" / "alertmanager.yml").read_text())
    (webhook,) = config["receivers"][0]["webhook_configs"]
    assert webhook["url"].endswith(".svc:8090/alertmanager")
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"
    webhook["url"] = f"{webhook_url}/alertmanager"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "token").write_text(token)
    webhook["http_config"]["authorization"]["credentials_file"] = str(workdir / "token")
    config["route"].update(group_wait="1s", group_interval="1s")
    (workdir / "am.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    program = Program(
        [
            f"--config.file={workdir / 'am.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        workdir / "alertmanager.log",
        executable=str(binaries.ensure("alertmanager")),
    ).start()
    manager = Alertmanager(program, port)
    wait_until(
        lambda: httpx.get(f"{manager.url}/-/ready", timeout=2).status_code == 200, timeout=30, what="Alertmanager"
    )
    return manager


def test_webhook_from_the_release_takes_alerts_from_the_example_routing(
    crds: Cluster, namespaced: Namespaced, tmp_path: Path
) -> None:
    release, team = namespaced.release, namespaced.team
    port = free_port()
    # No KUBECONFIG: like its pod (no ServiceAccount token mounted), the webhook has no Kubernetes credentials.
    env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
    webhook = release.start("webhook", {8090: port}, env, ["--host=127.0.0.1"])
    alertmanager = None
    try:
        wait_serving(webhook, f"http://127.0.0.1:{port}/readyz", "the webhook")
        token = release.read_secret("signalcraft-webhook-token")["token"]
        alertmanager = alertmanager_from_the_example(tmp_path / "am", f"http://127.0.0.1:{port}", token)
        alertmanager.fire({"labels": {"alertname": "DiskFull", "severity": "critical"}, "annotations": {}})
        integration = f"{team}.cluster-alertmanager"
        with release.api.client() as client:

            def grouped() -> list[dict[str, Any]]:
                listed = client.get("/v1/alert-groups", params={"integration": integration}).json()["items"]
                return [group for group in listed if group["group_key"].endswith('alertname="DiskFull"}')]

            found = wait_until(grouped, timeout=60, what="the alert in SignalCraft")
            assert isinstance(found, list)
            (group,) = found
            assert group["severity"] == "critical"
            (alert,) = client.get(f"/v1/alert-groups/{group['id']}/alerts").json()
            assert alert["labels"]["k8s_cluster"] == "e2e", "webhook.clusterName reaches the alerts"
    finally:
        if alertmanager is not None:
            alertmanager.program.stop()
        webhook.stop()


def test_cluster_wide_install_adopts_crds_and_uninstall_keeps_them(
    crds: Cluster, api: ApiServer, tmp_path: Path
) -> None:
    # The suite installed the CRDs with kubectl; the release adopts them (--take-ownership). --force-conflicts because
    # the generated integrations CRD carries an empty `properties: {}` the API server drops, so helm's and kubectl's
    # server-side applies disagree on the atomic .spec.versions.
    adopt = ("--take-ownership", "--force-conflicts")
    release = install(crds, api, tmp_path, "scw", "--set", "webhook.enabled=false", "--set", "clusterWide=true", *adopt)
    team = crds.create_namespace("anywhere")
    as_operator = release.as_service_account("operator")
    expected = expand(OPERATOR_RULES + CLUSTER_ID_RULES)
    assert granted_beyond_defaults(as_operator, crds, team, tmp_path) == expected
    for verb, resource in (("delete", "secrets"), ("get", "configmaps"), ("list", "namespaces"), ("create", "pods")):
        assert as_operator.kubectl("auth", "can-i", verb, resource, "-n", team, check=False).stdout.strip() == "no"

    operator = release.start(
        "operator", {8080: free_port(), 8081: free_port()}, {"KUBECONFIG": str(as_operator.kubeconfig)}, []
    )
    try:
        apply_samples(crds, team, *ON_CALL)
        wait_condition(crds, "escalationpolicy", team, "db-oncall", "Ready", "True")
    finally:
        operator.stop()
    assert "Forbidden" not in operator.log(), operator.log()[-3000:]

    crd = crds.kubectl_json("get", "crd", "escalationpolicies.signalcraft.io")
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert crd["metadata"]["annotations"]["meta.helm.sh/release-name"] == "scw"
    helm("uninstall", "scw", "-n", release.namespace, env=crds.env)
    assert crds.kubectl("get", "clusterrole", "scw-signalcraft-operator", check=False).returncode != 0
    crds.kubectl("get", "crd", "alertpolicies.signalcraft.io", "escalationpolicies.signalcraft.io")
    crds.kubectl("get", "escalationpolicy", "db-oncall", "-n", team)


def test_default_install_is_namespaced_and_works_without_listing_secrets(
    crds: Cluster, api: ApiServer, tmp_path: Path
) -> None:
    """Namespaced mode is the default (the release's namespace); with operator.secrets.watch=false the operator may
    get, create and patch Secrets there and nothing else — and still syncs and writes its connection Secret."""
    values = ("--set", "webhook.enabled=false", "--set", "crds.enabled=false", "--set", "operator.secrets.watch=false")
    release = install(crds, api, tmp_path, "scd", *values)
    elsewhere = crds.create_namespace("not-watched")
    as_operator = release.as_service_account("operator")
    narrow = [
        {**rule, "verbs": ["get", "create", "patch"]} if rule["resources"] == ["secrets"] else rule
        for rule in OPERATOR_RULES
    ]
    assert granted_beyond_defaults(as_operator, crds, release.namespace, tmp_path) == expand(narrow + CLUSTER_ID_RULES)
    assert granted_beyond_defaults(as_operator, crds, elsewhere, tmp_path) == expand(CLUSTER_ID_RULES)
    for verb in ("list", "watch", "delete", "update"):
        allowed = as_operator.kubectl("auth", "can-i", verb, "secrets", "-n", release.namespace, check=False)
        assert allowed.stdout.strip() == "no", verb
    operator = release.start(
        "operator", {8080: free_port(), 8081: free_port()}, {"KUBECONFIG": str(as_operator.kubeconfig)}, []
    )
    try:
        crds.kubectl("apply", "-n", release.namespace, "-f", str(SAMPLES / "integration.yaml"))
        wait_condition(crds, "integration", release.namespace, "cluster-alertmanager", "Ready", "True")
        connection = release.read_secret("cluster-alertmanager-signalcraft")
        assert connection["webhookURL"].startswith(api.url)
    finally:
        operator.stop()
    assert "Forbidden" not in operator.log(), operator.log()[-3000:]
    helm("uninstall", "scd", "-n", release.namespace, env=crds.env)
