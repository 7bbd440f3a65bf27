"""The operator under faults, each test with its own namespace-scoped operator process(es).

API down and back, 429 with Retry-After, SIGKILL in the middle of creating 200 objects, and two clusters claiming one
SignalCraft object. Faults are real: a stopped process, kill -9, an HTTP server answering 429.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from tests.e2e.test_operator import Remote, condition, events, get, wait_condition, wait_event
from tests.support.api_server import ApiServer, running_api_server
from tests.support.faults import tcp_proxy, throttling_proxy
from tests.support.helm import OPERATOR_RULES
from tests.support.kube import Cluster
from tests.support.operator import running_operator, start_operator
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

POLICY = """
apiVersion: signalcraft.io/v1alpha1
kind: AlertPolicy
metadata: {{name: {name}}}
spec:
  severity: {severity}
  routingKey: {name}
{extra}"""


def policy(name: str, severity: str = "critical", extra: str = "") -> str:
    return POLICY.format(name=name, severity=severity, extra=extra)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with running_api_server(tmp_path / "api") as server:
        yield server


def test_api_outage_is_reported_and_recovers(crds: Cluster, namespace: str, api: ApiServer, tmp_path: Path) -> None:
    with running_operator(crds, api.url, api.admin_key, tmp_path / "op", namespaces=[namespace]):
        crds.apply(policy("p1"), namespace)
        wait_condition(crds, "alertpolicy", namespace, "p1", "Ready", "True")
        api.stop()
        crds.apply(policy("p1", severity="warning"), namespace)
        down = wait_condition(crds, "alertpolicy", namespace, "p1", "Ready", "False", "SyncFailed")
        assert condition(down, "Reconciling")["status"] == "True"
        assert "SignalCraft API unavailable" in wait_event(crds, namespace, "p1", "SyncFailed")
        api.start()
        wait_condition(crds, "alertpolicy", namespace, "p1", "Ready", "True")
        with Remote(api) as remote:
            stored = remote.get("alert-policies", f"{namespace}.p1")
        assert stored is not None
        assert stored["spec"]["severity"] == "warning"
        warnings = [reason for kind, reason, _ in events(crds, namespace, "p1") if kind == "Warning"]
        assert warnings.count("SyncFailed") == 1, "retries while down must not post an Event each"


def test_retry_after_is_obeyed(crds: Cluster, namespace: str, api: ApiServer, tmp_path: Path) -> None:
    with (
        throttling_proxy(api.url) as proxy,
        running_operator(crds, proxy.url, api.admin_key, tmp_path / "op", namespaces=[namespace]),
    ):
        proxy.throttle(times=1, retry_after=4)
        crds.apply(policy("slow"), namespace)
        wait_condition(crds, "alertpolicy", namespace, "slow", "Ready", "True")
    throttled = [arrival for arrival in proxy.arrivals if arrival.status == 429]
    assert len(throttled) == 1
    after = [arrival for arrival in proxy.arrivals if arrival.at > throttled[0].at]
    assert after, "the operator never retried"
    assert after[0].at - throttled[0].at >= 4.0, "a request arrived before Retry-After had passed"


def test_sigkill_during_creation_leaves_no_duplicates(
    crds: Cluster, namespace: str, api: ApiServer, tmp_path: Path
) -> None:
    count = 200
    manifest = "".join(f"---{policy(f'p{index:03d}')}" for index in range(count))
    operator = start_operator(crds, api.url, api.admin_key, tmp_path / "op", namespaces=[namespace])
    # Apply in the background so the kill lands while objects are still being created and synced.
    applying = subprocess.Popen(
        [str(crds.kubectl_path), "apply", "-n", namespace, "-f", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=crds.env,
        text=True,
    )
    assert applying.stdin is not None
    applying.stdin.write(manifest)
    applying.stdin.close()

    def some_ready() -> bool:
        listed = crds.kubectl_json("get", "alertpolicies", "-n", namespace)["items"]
        return sum(1 for item in listed if condition(item, "Ready").get("status") == "True") >= 5

    wait_until(some_ready, timeout=120, interval=0.05, what="the first objects to be Ready")
    operator.program.kill()
    assert applying.wait(120) == 0
    listed = crds.kubectl_json("get", "alertpolicies", "-n", namespace)["items"]
    assert sum(1 for item in listed if condition(item, "Ready").get("status") == "True") < count, (
        "everything finished before the kill; the test proves nothing"
    )
    with running_operator(crds, api.url, api.admin_key, tmp_path / "op2", namespaces=[namespace]):

        def all_ready() -> bool:
            items = crds.kubectl_json("get", "alertpolicies", "-n", namespace)["items"]
            return len(items) == count and all(condition(item, "Ready").get("status") == "True" for item in items)

        wait_until(all_ready, timeout=240, interval=1, what="all objects Ready after the restart")
    with Remote(api) as remote:
        names = remote.names("alert-policies", f"{namespace}.")
        assert sorted(names) == sorted(f"{namespace}.p{index:03d}" for index in range(count))
        items = crds.kubectl_json("get", "alertpolicies", "-n", namespace)["items"]
        for item in items:
            stored = remote.get("alert-policies", f"{namespace}.{item['metadata']['name']}")
            assert stored is not None
            assert item["status"]["remoteId"] == stored["id"]


def test_second_cluster_gets_a_management_conflict(crds: Cluster, api: ApiServer, tmp_path: Path) -> None:
    first, second = crds.create_namespace("cluster-a"), crds.create_namespace("cluster-b")
    shared = "    remoteName: shared-policy\n"
    with (
        running_operator(crds, api.url, api.admin_key, tmp_path / "a", namespaces=[first], cluster_id="cluster-a"),
        running_operator(crds, api.url, api.admin_key, tmp_path / "b", namespaces=[second], cluster_id="cluster-b"),
    ):
        crds.apply(policy("owner", extra=shared.replace("    ", "  ")), first)
        wait_condition(crds, "alertpolicy", first, "owner", "Ready", "True")
        crds.apply(policy("intruder", severity="info", extra=shared.replace("    ", "  ")), second)
        conflict = wait_condition(crds, "alertpolicy", second, "intruder", "ManagementConflict", "True")
        assert condition(conflict, "Stalled")["status"] == "True"
        assert "k8s://cluster-a/" in condition(conflict, "ManagementConflict")["message"]
        assert "k8s://cluster-a/" in wait_event(crds, second, "intruder", "ManagementConflict")
        with Remote(api) as remote:
            stored = remote.get("alert-policies", "shared-policy")
        assert stored is not None
        assert stored["spec"]["severity"] == "critical", "the second cluster must not overwrite the first's object"
        assert get(crds, "alertpolicy", first, "owner")["status"]["remoteId"] == stored["id"]


def test_a_dead_watch_fails_liveness_until_it_recovers(
    crds: Cluster, namespace: str, api: ApiServer, tmp_path: Path
) -> None:
    """The watch dies for real: the operator's RBAC is revoked and its connections to kube-apiserver are cut, so every
    reconnect is refused. /healthz must fail (not stay green over a blind operator) and recover with the RBAC."""
    crds.kubectl("create", "serviceaccount", "operator", "-n", namespace)
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "operator"}}
    crds.apply(yaml.safe_dump({**role, "rules": OPERATOR_RULES}), namespace)
    binding = yaml.safe_dump(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "operator"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "operator"},
            "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": namespace}],
        }
    )
    crds.apply(binding, namespace)
    kubeconfig = crds.service_account_kubeconfig(namespace, "operator", tmp_path / "sa.kubeconfig")
    config = yaml.safe_load(kubeconfig.read_text())
    server = urlsplit(config["clusters"][0]["cluster"]["server"])
    assert server.hostname is not None
    assert server.port is not None
    with tcp_proxy(server.hostname, server.port) as proxy:
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
        kubeconfig.write_text(yaml.safe_dump(config))
        with running_operator(
            crds,
            api.url,
            api.admin_key,
            tmp_path / "op",
            namespaces=[namespace],
            cluster_id="liveness",
            kubeconfig=kubeconfig,
            extra_args=["--watch-silence-limit", "3"],
        ) as operator:
            crds.apply(policy("before"), namespace)
            wait_condition(crds, "alertpolicy", namespace, "before", "Ready", "True")
            assert operator.healthy()

            crds.kubectl("delete", "rolebinding", "operator", "-n", namespace)
            assert proxy.sever() > 0, "the operator had no open connection to cut"
            crds.apply(policy("during"), namespace)
            wait_until(lambda: not operator.healthy(), timeout=90, interval=1, what="/healthz to fail")
            assert operator.program.running, "a dead watch must fail liveness, not crash the operator silently"

            crds.apply(binding, namespace)
            wait_until(operator.healthy, timeout=120, interval=1, what="/healthz to recover")
            wait_condition(crds, "alertpolicy", namespace, "during", "Ready", "True")
