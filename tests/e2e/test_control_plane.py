"""The e2e fixture is a real Kubernetes API: storage, CEL admission, RBAC — and the dev-cluster CLI behaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.support.kube import Cluster, KubectlError


def test_configmap_round_trip_with_real_kubectl(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("create", "configmap", "settings", "-n", namespace, "--from-literal=mode=fast")
    got = cluster.kubectl_json("get", "configmap", "settings", "-n", namespace)
    assert got["data"] == {"mode": "fast"}
    assert got["metadata"]["uid"]
    version = cluster.kubectl_json("version")
    assert version["serverVersion"]["gitVersion"].startswith("v1.37.")


CRD = textwrap.dedent(
    """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: windows.probe.signalcraft.io
    spec:
      group: probe.signalcraft.io
      scope: Namespaced
      names: {plural: windows, singular: window, kind: Window}
      versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  properties:
                    start: {type: integer}
                    end: {type: integer}
                  x-kubernetes-validations:
                    - rule: self.end > self.start
                      message: end must be after start
    """
)


def test_cel_validation_refuses_a_violating_object(cluster: Cluster, namespace: str) -> None:
    cluster.apply(CRD)
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/windows.probe.signalcraft.io")
    good = "apiVersion: probe.signalcraft.io/v1\nkind: Window\nmetadata: {name: ok}\nspec: {start: 1, end: 2}\n"
    cluster.apply(good, namespace)
    bad = "apiVersion: probe.signalcraft.io/v1\nkind: Window\nmetadata: {name: bad}\nspec: {start: 5, end: 2}\n"
    refused = cluster.apply(bad, namespace, check=False)
    assert refused.returncode != 0
    assert "end must be after start" in refused.stderr
    assert "Invalid value" in refused.stderr
    names = [item["metadata"]["name"] for item in cluster.kubectl_json("get", "windows", "-n", namespace)["items"]]
    assert names == ["ok"]


def test_rbac_forbids_a_service_account_without_rights(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("create", "serviceaccount", "nobody", "-n", namespace)
    cluster.kubectl("create", "secret", "generic", "hidden", "-n", namespace, "--from-literal=k=v")
    who = f"system:serviceaccount:{namespace}:nobody"
    with pytest.raises(KubectlError) as refused:
        cluster.kubectl("get", "secret", "hidden", "-n", namespace, f"--as={who}")
    assert "forbidden" in refused.value.stderr.lower()
    # The same request is allowed once a Role grants it: the refusal came from RBAC, not from a broken client.
    cluster.kubectl("create", "role", "read-secrets", "-n", namespace, "--verb=get", "--resource=secrets")
    cluster.kubectl(
        "create",
        "rolebinding",
        "nobody-reads",
        "-n",
        namespace,
        "--role=read-secrets",
        f"--serviceaccount={namespace}:nobody",
    )
    allowed = cluster.kubectl("auth", "can-i", "get", "secrets", "-n", namespace, f"--as={who}", check=False)
    assert allowed.stdout.strip() == "yes"
    token = cluster.kubectl("create", "token", "nobody", "-n", namespace).stdout.strip()
    assert token.count(".") == 2  # a signed JWT from the service-account signing key


def _cli(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "signalcraft.cli", "dev-cluster", *args, "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def test_dev_cluster_cli_up_twice_status_down(tmp_path: Path) -> None:
    state_dir = tmp_path / "run"
    first = _cli("up", state_dir=state_dir)
    assert first.returncode == 0, first.stderr
    try:
        status = json.loads(_cli("status", state_dir=state_dir).stdout)
        assert status["running"] is True
        pids = [status["etcd"]["pid"], status["kube-apiserver"]["pid"]]
        second = _cli("up", state_dir=state_dir)
        assert second.returncode == 0
        assert "already running" in second.stderr
        assert json.loads(_cli("status", state_dir=state_dir).stdout)["kube-apiserver"]["pid"] == pids[1]
        assert _cli("kubeconfig", state_dir=state_dir).stdout.strip() == first.stdout.strip()
    finally:
        down = _cli("down", state_dir=state_dir)
    assert down.returncode == 0
    assert "stopped" in down.stderr
    assert not any(_alive(pid) for pid in pids)
    stopped = _cli("status", state_dir=state_dir)
    assert stopped.returncode == 3
    assert json.loads(stopped.stdout) == {"running": False}
    assert "no control plane" in _cli("down", state_dir=state_dir).stderr
