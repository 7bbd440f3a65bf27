"""The chart's optional API server (`api.enabled`), rendered by the real helm binary: PostgreSQL from a Secret for
several replicas, SQLite for one, the operator and the webhook pointed at it, and the server's own CLI accepting the
arguments the chart writes."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.helm import CHART, documents, helm, of_kind

from signalcraft.server.cli import api as api_command

RELEASE = "rel"
SERVER = f"{RELEASE}-signalcraft-api"
POSTGRES = [
    *("--set", "api.enabled=true", "--set", "api.server.replicas=3"),
    *("--set", "api.server.databaseUrlSecret.name=signalcraft-db"),
]
SQLITE = ["--set", "api.enabled=true"]


def render(*values: str) -> list[dict[str, Any]]:
    return documents(helm("template", RELEASE, str(CHART), "-n", "signalcraft", *values).stdout)


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = (doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name)
    return found


def server_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (only,) = named(docs, "Deployment", SERVER)["spec"]["template"]["spec"]["containers"]
    return dict(only)


def api_url_of(docs: list[dict[str, Any]], component: str) -> str:
    workloads = [*of_kind(docs, "Deployment"), *of_kind(docs, "StatefulSet")]
    (workload,) = (doc for doc in workloads if doc["metadata"]["name"] == f"{RELEASE}-signalcraft-{component}")
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    (url,) = (arg.split("=", 1)[1] for arg in only["args"] if arg.startswith("--api-url="))
    return str(url)


def test_off_by_default() -> None:
    docs = render("--set", "api.url=https://api.example")
    assert not [doc for doc in docs if doc["metadata"]["name"].startswith(SERVER)]


@pytest.mark.parametrize("values", [POSTGRES, SQLITE], ids=["postgresql", "sqlite"])
def test_lint_strict(values: list[str]) -> None:
    helm("lint", "--strict", str(CHART), *values)


def test_replicas_share_postgresql_from_a_secret() -> None:
    docs = render(*POSTGRES)
    deployment = named(docs, "Deployment", SERVER)
    assert deployment["spec"]["replicas"] == 3
    assert "strategy" not in deployment["spec"], "replicas on PostgreSQL roll one by one"
    container = server_container(docs)
    assert container["env"] == [
        {
            "name": "SIGNALCRAFT_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": "signalcraft-db", "key": "database-url"}},
        }
    ]
    assert not [arg for arg in container["args"] if arg.startswith("--db")], "no SQLite file next to PostgreSQL"
    assert "data" not in {volume["name"] for volume in deployment["spec"]["template"]["spec"]["volumes"]}
    assert named(docs, "PodDisruptionBudget", SERVER)["spec"]["maxUnavailable"] == 1
    service = named(docs, "Service", SERVER)
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http"}]
    in_cluster = f"http://{SERVER}.signalcraft.svc:8000"
    assert api_url_of(docs, "operator") == api_url_of(docs, "webhook") == in_cluster
    assert not of_kind(docs, "Secret"), "the chart never generates credentials"


def test_one_replica_on_sqlite_keeps_its_file_on_a_volume() -> None:
    docs = render(*SQLITE, "--set", "api.server.sqlite.persistentVolumeClaim=signalcraft-api-data")
    deployment = named(docs, "Deployment", SERVER)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}, "never two processes on one SQLite file"
    container = server_container(docs)
    assert "--db=/var/lib/signalcraft/signalcraft.db" in container["args"]
    assert "env" not in container
    volumes = {volume["name"]: volume for volume in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "signalcraft-api-data"}
    assert {"name": "data", "mountPath": "/var/lib/signalcraft"} in container["volumeMounts"]
    assert not of_kind([doc for doc in docs if doc["metadata"]["name"] == SERVER], "PodDisruptionBudget")


def test_an_explicit_api_url_wins_over_the_deployed_server() -> None:
    docs = render(*POSTGRES, "--set", "api.url=https://hosted.example")
    assert api_url_of(docs, "operator") == "https://hosted.example"


def test_refusals_are_explained() -> None:
    refused = helm(
        "template", RELEASE, str(CHART), "--set", "api.enabled=true", "--set", "api.server.replicas=2", check=False
    )
    assert refused.returncode != 0
    assert "api.server.replicas > 1 needs PostgreSQL" in refused.stderr
    missing = helm("template", RELEASE, str(CHART), check=False)
    assert missing.returncode != 0
    assert "api.url is required" in missing.stderr
    assert "api.enabled=true" in missing.stderr, "the message names the other way out"


def test_hardened_like_the_other_programs() -> None:
    docs = render(*POSTGRES)
    pod = named(docs, "Deployment", SERVER)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False, "the API server never talks to Kubernetes"
    container = server_container(docs)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


@pytest.mark.parametrize("values", [POSTGRES, SQLITE], ids=["postgresql", "sqlite"])
def test_the_server_accepts_the_arguments_the_chart_writes(values: list[str]) -> None:
    args = server_container(render(*values))["args"]
    assert args[0] == "api"
    # click's own parser: an unknown or malformed option raises here, as it would at container start.
    with api_command.make_context("api", list(args[1:])) as context:
        assert context.params["host"] == "0.0.0.0"
        assert context.params["port"] == 8000
