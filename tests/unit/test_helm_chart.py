"""The Helm chart rendered and linted by the real helm binary, without a cluster: value combinations, the RBAC each
mode grants (exactly), hardening, the schema's error messages, and that the programs accept the arguments it writes."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from tests.support.helm import CHART, CLUSTER_ID_RULES, OPERATOR_RULES, TEST_API_URL, helm, of_kind, render

from signalcraft.controllers.cli import operator as operator_command
from signalcraft.ingest.cli import webhook as webhook_command
from signalcraft.ingest.config import WebhookFile

REPO = Path(__file__).resolve().parents[2]
API = ("--set", f"api.url={TEST_API_URL}")
RELEASE = "rel"


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Objects of one kind by name (for kinds the chart renders once per name)."""
    return {doc["metadata"]["name"]: doc for doc in of_kind(documents, kind)}


def workloads(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The operator's Deployment and the webhook's StatefulSet, by name."""
    return {**by_kind(documents, "Deployment"), **by_kind(documents, "StatefulSet")}


def container(documents: list[dict[str, Any]], component: str) -> dict[str, Any]:
    deployment = workloads(documents)[f"{RELEASE}-signalcraft-{component}"]
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


WEBHOOK_EXAMPLE = REPO / "config" / "alertmanager" / "signalcraft-webhook.yaml"
GRAFANA_HMAC = {"name": "grafana-hmac", "secret": {"secretName": "grafana-hmac"}}
GRAFANA_HMAC_MOUNT = {"name": "grafana-hmac", "mountPath": "/var/run/secrets/grafana-hmac", "readOnly": True}
BATCH_AUTH = {"name": "SIGNALCRAFT_BATCH_BASIC_AUTH", "valueFrom": {"secretKeyRef": {"name": "batch", "key": "auth"}}}
SEVERAL_INTEGRATIONS = [
    *("--set-json", f"webhook.config={json.dumps(yaml.safe_load(WEBHOOK_EXAMPLE.read_text()))}"),
    *("--set-json", f"webhook.extraVolumes={json.dumps([GRAFANA_HMAC])}"),
    *("--set-json", f"webhook.extraVolumeMounts={json.dumps([GRAFANA_HMAC_MOUNT])}"),
    *("--set-json", f"webhook.extraEnv={json.dumps([BATCH_AUTH])}"),
]

COMBINATIONS = {
    "default": [],
    "cluster-wide": ["--set", "clusterWide=true"],
    "namespaced": ["--set", "watchNamespaces={team-a,team-b}", "--set", "clusterId=prod-eu"],
    "no-crds-no-webhook": ["--set", "crds.enabled=false", "--set", "webhook.enabled=false"],
    "prometheus-operator": [
        *("--set", "webhook.alertmanagerConfig.enabled=true"),
        *("--set", "operator.metrics.serviceMonitor.enabled=true"),
        *("--set", "webhook.metrics.serviceMonitor.enabled=true"),
    ],
    "single-webhook-on-an-emptydir": [
        *("--set", "webhook.replicas=1", "--set", "webhook.podDisruptionBudget.enabled=false"),
        *("--set", "webhook.spool.volume=emptyDir", "--set", "operator.metrics.service=false"),
    ],
    "webhook-several-integrations": SEVERAL_INTEGRATIONS,
}

EXPECTED_KINDS = {
    "cluster-wide": {
        "CustomResourceDefinition": 7,
        "ServiceAccount": 2,
        "ClusterRole": 2,
        "ClusterRoleBinding": 2,
        "Deployment": 1,
        "StatefulSet": 1,
        "Service": 2,
        "PodDisruptionBudget": 1,
    },
    "default": {
        "CustomResourceDefinition": 7,
        "ServiceAccount": 2,
        "ClusterRole": 1,
        "ClusterRoleBinding": 1,
        "Role": 1,
        "RoleBinding": 1,
        "Deployment": 1,
        "StatefulSet": 1,
        "Service": 2,
        "PodDisruptionBudget": 1,
    },
    "namespaced": {
        "CustomResourceDefinition": 7,
        "ServiceAccount": 2,
        "Role": 2,
        "RoleBinding": 2,
        "Deployment": 1,
        "StatefulSet": 1,
        "Service": 2,
        "PodDisruptionBudget": 1,
    },
    "no-crds-no-webhook": {
        "ServiceAccount": 1,
        "ClusterRole": 1,
        "ClusterRoleBinding": 1,
        "Role": 1,
        "RoleBinding": 1,
        "Deployment": 1,
        "Service": 1,
    },
    "prometheus-operator": {
        "CustomResourceDefinition": 7,
        "ServiceAccount": 2,
        "ClusterRole": 1,
        "ClusterRoleBinding": 1,
        "Role": 1,
        "RoleBinding": 1,
        "Deployment": 1,
        "StatefulSet": 1,
        "Service": 2,
        "PodDisruptionBudget": 1,
        "ServiceMonitor": 2,
        "AlertmanagerConfig": 1,
    },
    "webhook-several-integrations": {
        "CustomResourceDefinition": 7,
        "ServiceAccount": 2,
        "ClusterRole": 1,
        "ClusterRoleBinding": 1,
        "Role": 1,
        "RoleBinding": 1,
        "Deployment": 1,
        "StatefulSet": 1,
        "Service": 2,
        "PodDisruptionBudget": 1,
        "ConfigMap": 1,
    },
    "single-webhook-on-an-emptydir": {
        "CustomResourceDefinition": 7,
        "ServiceAccount": 2,
        "ClusterRole": 1,
        "ClusterRoleBinding": 1,
        "Role": 1,
        "RoleBinding": 1,
        "Deployment": 1,
        "StatefulSet": 1,
        "Service": 1,
    },
}


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_lint_strict_and_the_objects_each_combination_renders(combination: str) -> None:
    values = COMBINATIONS[combination]
    helm("lint", "--strict", str(CHART), *API, *values)
    assert Counter(doc["kind"] for doc in render(*values)) == EXPECTED_KINDS[combination]


def test_cluster_wide_mode_grants_exactly_the_operator_rules() -> None:
    documents = render("--set", "clusterWide=true")
    roles = by_kind(documents, "ClusterRole")
    assert roles[f"{RELEASE}-signalcraft-operator"]["rules"] == OPERATOR_RULES
    assert roles[f"{RELEASE}-signalcraft-operator-cluster-id"]["rules"] == CLUSTER_ID_RULES
    for binding in by_kind(documents, "ClusterRoleBinding").values():
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": f"{RELEASE}-signalcraft-operator", "namespace": "signalcraft"}
        ]
    assert "--namespace" not in " ".join(container(documents, "operator")["args"])


def test_default_is_namespaced_to_the_release_namespace() -> None:
    documents = render()
    (role,) = of_kind(documents, "Role")
    assert role["metadata"]["namespace"] == "signalcraft"
    assert role["rules"] == OPERATOR_RULES
    assert [role["rules"] for role in by_kind(documents, "ClusterRole").values()] == [CLUSTER_ID_RULES]
    assert "--namespace=signalcraft" in container(documents, "operator")["args"]


def test_without_the_secret_watch_secrets_are_never_listed() -> None:
    documents = render("--set", "operator.secrets.watch=false")
    (role,) = of_kind(documents, "Role")
    (secrets,) = [rule for rule in role["rules"] if rule["resources"] == ["secrets"]]
    assert secrets["verbs"] == ["get", "create", "patch"]
    assert "--no-secret-watch" in container(documents, "operator")["args"]


def test_cluster_mode_and_a_namespace_list_contradict() -> None:
    failed = helm(
        "template", "x", str(CHART), "--set", f"api.url={TEST_API_URL}", "--set", "clusterWide=true",
        "--set", "watchNamespaces={a}", check=False,
    )  # fmt: skip
    assert failed.returncode != 0
    assert "leave watchNamespaces empty" in failed.stderr


def test_namespaced_mode_grants_nothing_cluster_wide() -> None:
    documents = render("--set", "watchNamespaces={team-a,team-b}")
    roles = of_kind(documents, "Role")
    assert sorted(role["metadata"]["namespace"] for role in roles) == ["team-a", "team-b"]
    assert all(role["rules"] == OPERATOR_RULES for role in roles)
    bindings = of_kind(documents, "RoleBinding")
    assert sorted(binding["metadata"]["namespace"] for binding in bindings) == ["team-a", "team-b"]
    # Only reading kube-system's UID (the default cluster id) is cluster-scoped; with clusterId set, not even that.
    assert [role["rules"] for role in by_kind(documents, "ClusterRole").values()] == [CLUSTER_ID_RULES]
    pinned = render("--set", "watchNamespaces={team-a,team-b}", "--set", "clusterId=prod-eu")
    assert not by_kind(pinned, "ClusterRole")
    assert not by_kind(pinned, "ClusterRoleBinding")
    args = container(pinned, "operator")["args"]
    assert [arg for arg in args if arg.startswith(("--cluster-id", "--namespace"))] == [
        "--cluster-id=prod-eu",
        "--namespace=team-a",
        "--namespace=team-b",
    ]


def test_api_key_and_token_come_from_existing_secrets() -> None:
    documents = render(
        *("--set", "operator.apiKeySecret.name=op-key", "--set", "operator.apiKeySecret.key=k1"),
        *("--set", "webhook.tokenSecret.name=am-token", "--set", "webhook.tokenSecret.key=t"),
    )
    deployments = workloads(documents)
    volumes = {
        (component, volume["name"]): volume.get("secret")
        for component in ("operator", "webhook")
        for volume in deployments[f"{RELEASE}-signalcraft-{component}"]["spec"]["template"]["spec"]["volumes"]
    }
    assert volumes["operator", "api-key"] == {"secretName": "op-key", "items": [{"key": "k1", "path": "api-key"}]}
    assert volumes["webhook", "token"] == {"secretName": "am-token", "items": [{"key": "t", "path": "token"}]}
    assert "--api-key-file=/var/run/secrets/signalcraft/api-key" in container(documents, "operator")["args"]
    assert "--token-file=/var/run/secrets/signalcraft-token/token" in container(documents, "webhook")["args"]
    assert not any(doc["kind"] == "Secret" for doc in documents), "the chart never generates credentials"


@pytest.mark.parametrize(("component", "command"), [("operator", operator_command), ("webhook", webhook_command)])
def test_the_programs_accept_the_arguments_the_chart_writes(component: str, command: click.Command) -> None:
    for values in COMBINATIONS.values():
        documents = render(*values)
        if f"{RELEASE}-signalcraft-{component}" not in workloads(documents):
            continue
        args = container(documents, component)["args"]
        assert args[0] == component
        # click's own parser: an unknown or malformed option raises here, as it would at container start.
        with command.make_context(component, list(args[1:])) as context:
            assert context.params["api_url"] == TEST_API_URL


def test_hardening_defaults() -> None:
    documents = render()
    operator = by_kind(documents, "Deployment")[f"{RELEASE}-signalcraft-operator"]["spec"]
    assert operator["replicas"] == 1
    assert operator["strategy"] == {"type": "Recreate"}, "two kopf operators must never run at once"
    for deployment in workloads(documents).values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 65532
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["enableServiceLinks"] is False
        (main,) = pod["containers"]
        assert main["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert main["resources"]["requests"]
        assert main["resources"]["limits"]["memory"]
    webhook_pod = workloads(documents)[f"{RELEASE}-signalcraft-webhook"]["spec"]["template"]["spec"]
    assert webhook_pod["automountServiceAccountToken"] is False, "the webhook never calls the Kubernetes API"
    assert by_kind(documents, "PodDisruptionBudget")[f"{RELEASE}-signalcraft-webhook"]["spec"]["maxUnavailable"] == 1


def test_crds_follow_crds_enabled_and_keep() -> None:
    committed = {yaml.safe_load(path.read_text())["metadata"]["name"] for path in (REPO / "crds").glob("*.yaml")}
    kept = by_kind(render(), "CustomResourceDefinition")
    assert set(kept) == committed
    for crd in kept.values():
        assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert crd["metadata"]["labels"]["app.kubernetes.io/component"] == "crds"
    released = by_kind(render("--set", "crds.keep=false"), "CustomResourceDefinition")
    assert all(not crd["metadata"]["annotations"] for crd in released.values())
    assert not by_kind(render("--set", "crds.enabled=false"), "CustomResourceDefinition")


def test_alertmanager_config_points_at_the_webhook_service_with_the_token() -> None:
    documents = render(
        *("--set", "webhook.alertmanagerConfig.enabled=true", "--set", "webhook.service.port=9000"),
        *("--set", "webhook.alertmanagerConfig.labels.alertmanagerConfig=main"),
    )
    (config,) = by_kind(documents, "AlertmanagerConfig").values()
    assert config["apiVersion"] == "monitoring.coreos.com/v1alpha1"
    assert config["metadata"]["labels"]["alertmanagerConfig"] == "main"
    (receiver,) = config["spec"]["receivers"]
    (webhook,) = receiver["webhookConfigs"]
    service = by_kind(documents, "Service")[f"{RELEASE}-signalcraft-webhook"]
    assert service["spec"]["ports"] == [{"name": "http", "port": 9000, "targetPort": "http"}]
    assert webhook["url"] == f"http://{RELEASE}-signalcraft-webhook.signalcraft.svc:9000/alertmanager"
    assert webhook["httpConfig"]["authorization"] == {
        "type": "Bearer",
        "credentials": {"name": "signalcraft-webhook-token", "key": "token"},
    }
    assert config["spec"]["route"]["receiver"] == receiver["name"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["--set", "typo=1"], "additional properties 'typo' not allowed"),
        (["--set", "operator.workerLimit=0"], "at '/operator/workerLimit': minimum: got 0, want 1"),
        (["--set", "watchNamespaces={Bad_Name}"], "at '/watchNamespaces/0'"),
        (["--set", "webhook.alertmanagerConfig.groupWait=soon"], "at '/webhook/alertmanagerConfig/groupWait'"),
        (["--set", "webhook.service.type=Ingress"], "at '/webhook/service/type'"),
    ],
)
def test_schema_violations_fail_with_a_clear_message(values: list[str], message: str) -> None:
    result = helm("template", RELEASE, str(CHART), *API, *values, check=False)
    assert result.returncode != 0
    assert message in result.stderr


def test_missing_api_url_is_explained() -> None:
    result = helm("template", RELEASE, str(CHART), check=False)
    assert result.returncode != 0
    assert "api.url is required" in result.stderr


def test_release_fits_helm_storage_with_room_to_spare() -> None:
    """Helm stores a release (chart files + rendered manifest) gzipped in one Secret, capped at 1 MiB."""
    manifest = helm("template", RELEASE, str(CHART), *API).stdout.encode()
    chart_files = b"".join(path.read_bytes() for path in sorted(CHART.rglob("*")) if path.is_file())
    assert len(gzip.compress(manifest + chart_files)) < 256 * 1024


def test_notes_explain_the_secrets_and_how_to_check() -> None:
    notes = helm("install", "sc", str(CHART), "-n", "signalcraft", "--dry-run=client", *API).stdout
    notes = notes[notes.index("NOTES:") :]
    assert "create secret generic signalcraft-operator-api-key --from-file=api-key=" in notes
    assert "create secret generic signalcraft-webhook-token" in notes
    assert "rollout status deploy/sc-signalcraft-operator" in notes
    assert "url: http://sc-signalcraft-webhook.signalcraft.svc:8090/alertmanager" in notes


def test_the_alertmanager_examples_route_to_what_the_chart_deploys() -> None:
    """config/alertmanager/ describes release "sc" in namespace "signalcraft": both examples must match its render."""
    documents = render("--set", "webhook.alertmanagerConfig.enabled=true", release="sc", namespace="signalcraft")
    (rendered,) = of_kind(documents, "AlertmanagerConfig")
    examples = REPO / "config" / "alertmanager"
    example = yaml.safe_load((examples / "alertmanagerconfig.yaml").read_text())
    assert example["apiVersion"] == rendered["apiVersion"]
    assert example["spec"] == rendered["spec"]
    plain = yaml.safe_load((examples / "alertmanager.yml").read_text())
    (receiver,) = [entry for entry in plain["receivers"] if entry["name"] == plain["route"]["receiver"]]
    (webhook,) = receiver["webhook_configs"]
    (chart_webhook,) = rendered["spec"]["receivers"][0]["webhookConfigs"]
    assert webhook["url"] == chart_webhook["url"]
    assert webhook["send_resolved"] is True
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"
    assert webhook["http_config"]["authorization"]["credentials_file"].endswith("/signalcraft-webhook-token/token")


def test_one_webhook_for_several_integrations_gets_its_config_file_and_secrets() -> None:
    documents = render(*SEVERAL_INTEGRATIONS)
    (config_map,) = of_kind(documents, "ConfigMap")
    config = yaml.safe_load(config_map["data"]["webhook.yaml"])
    assert config == yaml.safe_load(WEBHOOK_EXAMPLE.read_text())
    WebhookFile.model_validate(config)
    webhook = container(documents, "webhook")
    assert "--config=/etc/signalcraft/webhook.yaml" in webhook["args"]
    assert not [arg for arg in webhook["args"] if arg.startswith(("--integration", "--token-file"))]
    mounts = {mount["name"]: mount["mountPath"] for mount in webhook["volumeMounts"]}
    pod = workloads(documents)[f"{RELEASE}-signalcraft-webhook"]["spec"]["template"]
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert mounts["config"] == "/etc/signalcraft"
    # Every credential file the config names is on a mounted volume; the variable it names is set from a Secret.
    for entry in config["integrations"]:
        for key in ("token_file", "hmac_secret_file"):
            if key in entry:
                assert any(entry[key].startswith(f"{path}/") for path in mounts.values()), entry[key]
    assert [env["name"] for env in webhook["env"]] == ["SIGNALCRAFT_BATCH_BASIC_AUTH"]
    assert pod["metadata"]["annotations"]["checksum/config"]
    changed = render(*SEVERAL_INTEGRATIONS, "--set", "webhook.config.integrations[0].name=platform.other")
    changed_pod = workloads(changed)[f"{RELEASE}-signalcraft-webhook"]["spec"]["template"]
    assert changed_pod["metadata"]["annotations"] != pod["metadata"]["annotations"], "a config change rolls the pods"


def test_the_webhook_spools_on_a_claim_per_replica_unless_emptydir_is_chosen() -> None:
    documents = render("--set", "webhook.spool.size=5Gi", "--set", "webhook.spool.storageClassName=fast")
    webhook = by_kind(documents, "StatefulSet")[f"{RELEASE}-signalcraft-webhook"]
    (claim,) = webhook["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "spool"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert claim["spec"]["storageClassName"] == "fast"
    assert webhook["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    pod = webhook["spec"]["template"]["spec"]
    assert "spool" not in {volume["name"] for volume in pod["volumes"]}, "the claim, not a pod volume"
    args = pod["containers"][0]["args"]
    assert "--spool-capacity-bytes=805306368" in args, "bytes are capped, below the volume size"
    notes = helm("install", "sc", str(CHART), "-n", "signalcraft", "--dry-run=client", *API).stdout
    assert "WARNING" not in notes
    assert "Scaling the webhook down" in notes

    ephemeral = render("--set", "webhook.spool.volume=emptyDir")
    webhook = by_kind(ephemeral, "StatefulSet")[f"{RELEASE}-signalcraft-webhook"]
    assert "volumeClaimTemplates" not in webhook["spec"]
    volumes = {volume["name"]: volume for volume in webhook["spec"]["template"]["spec"]["volumes"]}
    assert volumes["spool"] == {"name": "spool", "emptyDir": {"sizeLimit": "1Gi"}}
    warned = helm(
        "install",
        "sc",
        str(CHART),
        "-n",
        "signalcraft",
        "--dry-run=client",
        *API,
        "--set",
        "webhook.spool.volume=emptyDir",
    ).stdout
    assert "WARNING: webhook.spool.volume=emptyDir" in warned
    refused = helm("template", RELEASE, str(CHART), *API, "--set", "webhook.spool.volume=hostPath", check=False)
    assert refused.returncode != 0
