"""The values the reconcile stages hand each other: the custom resource as read, what a pass decided, its outcome.

observe → decide → act → status all speak in these types; none of them imports kopf or a Kubernetes client.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from signalcraft.controllers.common import ManagedSpec


@dataclass(frozen=True)
class KubeObject:
    """The parts of a custom resource the engine looks at (as the watch delivered it)."""

    body: Mapping[str, Any]

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def uid(self) -> str:
        return str(self.body["metadata"].get("uid", ""))

    @property
    def generation(self) -> int:
        return int(self.body["metadata"].get("generation", 1))

    @property
    def annotations(self) -> Mapping[str, str]:
        return self.body["metadata"].get("annotations") or {}

    @property
    def spec(self) -> Mapping[str, Any]:
        return self.body.get("spec") or {}

    @property
    def status(self) -> Mapping[str, Any]:
        return self.body.get("status") or {}

    @property
    def conditions(self) -> list[Mapping[str, Any]]:
        return list(self.status.get("conditions") or [])

    @property
    def observed_generation_is_current(self) -> bool:
        return self.status.get("observedGeneration") == self.generation


class KubeError(Exception):
    """A Kubernetes call failed; the message carries the API server's reason, never Secret data."""


@dataclass(frozen=True)
class EventRecord:
    type: str
    reason: str
    message: str


@dataclass
class Outcome:
    """What a pass ends with: a status merge-patch (empty = write nothing), Events, and whether to retry."""

    status_patch: dict[str, Any] = field(default_factory=dict)
    events: list[EventRecord] = field(default_factory=list)
    retry_after: float | None = None
    retry_reason: str = ""
    finished: bool = True
    """For finalize: whether the finalizer may go."""


@dataclass(frozen=True)
class Unresolved:
    """Why a resource cannot be synced yet: a reference or Secret it needs is missing or not Ready."""

    reason: str
    message: str


def fingerprint(value: Any) -> str:
    """A short, stable digest of non-secret data (the spec checksum in the manager block)."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"sha256:{digest[:16]}"


def remote_name_of(spec: ManagedSpec, namespace: str, name: str) -> str:
    return spec.remote_name or f"{namespace}.{name}"


def identity_prefix(cluster_id: str) -> str:
    return f"k8s://{cluster_id}/"


def identity_of(cluster_id: str, namespace: str, kind: str, name: str) -> str:
    """The manager identity a resource writes with: unique per cluster, namespace, kind and name."""
    return f"{identity_prefix(cluster_id)}{namespace}/{kind}/{name}"


@dataclass(frozen=True)
class SecretObject:
    """A Secret as the engine sees it: decoded data, its version and who controls it (never logged)."""

    name: str
    data: Mapping[str, str]
    resource_version: str
    controller_uid: str | None = None
    """uid of the object named in the Secret's controller ownerReference, if any."""

    def __repr__(self) -> str:  # the data are secret values: keep them out of logs and tracebacks
        return f"SecretObject(name={self.name!r}, keys={sorted(self.data)}, resource_version={self.resource_version!r})"
