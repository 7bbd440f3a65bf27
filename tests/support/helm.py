"""The Helm chart through the real helm binary, and its containers started from the manifests helm produced.

There is no kubelet on the local control plane, so `container_argv` does the part of a kubelet's job the tests need:
it projects the pod's Secret volumes into files (from the Secrets in the API server), creates its emptyDirs, and
rewrites the container's arguments to those paths and to free loopback ports.
"""

from __future__ import annotations

import base64
import functools
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from signalcraft.devcluster import binaries

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "signalcraft-operator"
TEST_API_URL = "https://api.signalcraft.example"

KIND_PLURALS = ["alertpolicies", "escalationpolicies", "integrations", "routingrules", "schedules", "teams", "users"]
"""Every kind the operator manages, as the chart lists them."""

OPERATOR_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["signalcraft.io"],
        "resources": [*KIND_PLURALS],
        "verbs": ["get", "list", "watch", "patch"],
    },
    {
        "apiGroups": ["signalcraft.io"],
        "resources": [f"{plural}/status" for plural in KIND_PLURALS],
        "verbs": ["patch"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch", "create", "patch"]},
]
"""What the operator's (Cluster)Role grants, and all it grants; the chart's comments say why each verb is needed."""

CLUSTER_ID_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["kube-system"], "verbs": ["get"]}
]
"""Reading kube-system's UID, the default cluster id; absent when clusterId is set."""


@functools.cache
def helm_binary() -> Path:
    return binaries.ensure("helm")


def helm(
    *args: str, env: Mapping[str, str] | None = None, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(helm_binary()), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def documents(manifest: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def render(*values: str, release: str = "rel", namespace: str = "signalcraft") -> list[dict[str, Any]]:
    """`helm template` with the API URL set (the chart requires one) plus `values`."""
    output = helm("template", release, str(CHART), "-n", namespace, "--set", f"api.url={TEST_API_URL}", *values)
    return documents(output.stdout)


def of_kind(docs: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def pod_spec(docs: Sequence[dict[str, Any]], deployment: str) -> dict[str, Any]:
    """The pod template of the Deployment or StatefulSet of that name."""
    workloads = [*of_kind(docs, "Deployment"), *of_kind(docs, "StatefulSet")]
    (found,) = (doc for doc in workloads if doc["metadata"]["name"] == deployment)
    spec: dict[str, Any] = found["spec"]["template"]["spec"]
    return spec


def container_argv(
    pod: Mapping[str, Any],
    root: Path,
    read_secret: Callable[[str], Mapping[str, str]],
    ports: Mapping[int, int],
) -> list[str]:
    """The pod's only container's args, runnable here: volumes under `root`, container ports mapped by `ports`."""
    (container,) = pod["containers"]
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    rewrites: list[tuple[str, str]] = []
    for mount in container.get("volumeMounts", []):
        local = root / mount["mountPath"].lstrip("/")
        local.mkdir(parents=True, exist_ok=True)
        volume = volumes.get(mount["name"], {})  # absent: a StatefulSet's claim template, a directory here
        if "secret" in volume:
            data = read_secret(volume["secret"]["secretName"])
            for item in volume["secret"].get("items") or [{"key": key, "path": key} for key in data]:
                (local / item["path"]).write_text(data[item["key"]])
        rewrites.append((mount["mountPath"], str(local)))
    argv = []
    for original in container["args"]:
        arg = str(original)
        # One rewrite per argument, the deepest mount first: a rewritten path may itself start like another mount.
        for mount_path, local_path in sorted(rewrites, key=lambda rewrite: -len(rewrite[0])):
            arg, count = re.subn(rf"(=|^){re.escape(mount_path)}(/|$)", rf"\g<1>{local_path}\g<2>", arg)
            if count:
                break
        for container_port, local_port in ports.items():
            arg = re.sub(rf"^(--[a-z-]*port)={container_port}$", rf"\g<1>={local_port}", arg)
        argv.append(arg)
    return argv


def decode_secret(secret: Mapping[str, Any]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}
