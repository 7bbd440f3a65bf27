"""A real Kubernetes API for the e2e suites: the local control plane, or the cluster KUBECONFIG names."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from signalcraft.devcluster import binaries
from signalcraft.devcluster.controlplane import ControlPlane


class KubectlError(AssertionError):
    def __init__(self, args: list[str], result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
        self.stderr = result.stderr
        self.returncode = result.returncode


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    kubectl_path: Path
    helm_path: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.kubectl_path), *args]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, env=self.env, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise KubectlError(list(args), result)
        return result

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(
        self, manifest: str, namespace: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        ns = ["-n", namespace] if namespace else []
        return self.kubectl("apply", *ns, "-f", "-", stdin=manifest, check=check)

    def service_account_kubeconfig(self, namespace: str, service_account: str, path: Path) -> Path:
        """A kubeconfig that authenticates as the ServiceAccount (a bound token from the TokenRequest API)."""
        token = self.kubectl("create", "token", service_account, "-n", namespace, "--duration=1h").stdout.strip()
        admin = yaml.safe_load(self.kubeconfig.read_text())
        cluster = admin["clusters"][0]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [cluster],
            "users": [{"name": service_account, "user": {"token": token}}],
            "contexts": [{"name": "sa", "context": {"cluster": cluster["name"], "user": service_account}}],
            "current-context": "sa",
        }
        path.write_text(yaml.safe_dump(config))
        return path

    def create_namespace(self, prefix: str = "t") -> str:
        name = f"{prefix[:40].lower().replace('_', '-').strip('-')}-{uuid.uuid4().hex[:6]}"
        self.kubectl("create", "namespace", name)
        return name


@contextmanager
def cluster_session(state_dir: Path) -> Iterator[Cluster]:
    """Yield a cluster for a whole test session and stop what was started, even when tests fail.

    With KUBECONFIG set (kind, a real cluster) that cluster is used and nothing is started.
    """
    kubectl = binaries.ensure("kubectl")
    helm = binaries.ensure("helm")
    configured = os.environ.get("KUBECONFIG")
    if configured:
        yield Cluster(Path(configured), kubectl, helm)
        return
    plane = ControlPlane(state_dir)
    try:
        state, _ = plane.up()
        yield Cluster(Path(state.kubeconfig), kubectl, helm)
    finally:
        plane.down()
