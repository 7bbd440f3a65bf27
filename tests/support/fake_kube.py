"""An in-memory implementation of the engine's Kubernetes port (ours, not a mock of a client library).

It keeps custom resources and Secrets as dicts, assigns resourceVersions and refuses what kube-apiserver would refuse
for the calls the engine makes (create of an existing Secret, a patch at a stale resourceVersion).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Mapping
from typing import Any

from signalcraft.controllers.common import API_VERSION
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.model import EventRecord, KubeError, Outcome, SecretObject


class FakeKube:
    def __init__(self) -> None:
        self.resources: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.resyncs: list[tuple[str, str, str, str]] = []
        self.events: list[tuple[str, EventRecord]] = []
        self.status_patches = 0
        self.writes = 0
        self._versions = itertools.count(1)
        self._uids = itertools.count(1)

    # ------------------------------------------------------------ test helpers

    def add(self, kind: ManagedKind, namespace: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": kind.kind,
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": f"uid-{next(self._uids)}",
                "generation": 1,
                "resourceVersion": str(next(self._versions)),
            },
            "spec": copy.deepcopy(dict(spec)),
            "status": {},
        }
        self.resources[(kind.kind, namespace, name)] = body
        return body

    def edit_spec(self, kind: ManagedKind, namespace: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        body = self.resources[(kind.kind, namespace, name)]
        body["spec"] = copy.deepcopy(dict(spec))
        body["metadata"]["generation"] += 1
        return body

    def apply(self, kind: ManagedKind, namespace: str, name: str, outcome: Outcome) -> dict[str, Any]:
        """Merge the outcome's status patch, as the kopf layer does; returns the body after it."""
        body = self.resources[(kind.kind, namespace, name)]
        for key, value in outcome.status_patch.items():
            if value is None:
                body["status"].pop(key, None)
            else:
                body["status"][key] = copy.deepcopy(value)
        return body

    def put_secret(self, namespace: str, name: str, data: Mapping[str, str], owner_uid: str | None = None) -> None:
        self.secrets[(namespace, name)] = {
            "data": dict(data),
            "resourceVersion": str(next(self._versions)),
            "controller": owner_uid,
        }

    # ------------------------------------------------------------ the port

    async def get_resource(self, kind: ManagedKind, namespace: str, name: str) -> Mapping[str, Any] | None:
        found = self.resources.get((kind.kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def read_secret(self, namespace: str, name: str) -> SecretObject | None:
        found = self.secrets.get((namespace, name))
        if found is None:
            return None
        return SecretObject(name, dict(found["data"]), found["resourceVersion"], found["controller"])

    async def create_secret(
        self, namespace: str, name: str, data: Mapping[str, str], owner: Mapping[str, Any]
    ) -> SecretObject:
        if (namespace, name) in self.secrets:
            raise KubeError(f"creating Secret {namespace}/{name}: AlreadyExists")
        self.writes += 1
        self.put_secret(namespace, name, data, owner["metadata"]["uid"])
        result = await self.read_secret(namespace, name)
        assert result is not None
        return result

    async def update_secret(
        self, namespace: str, name: str, data: Mapping[str, str], resource_version: str
    ) -> SecretObject:
        found = self.secrets.get((namespace, name))
        if found is None or found["resourceVersion"] != resource_version:
            raise KubeError(f"updating Secret {namespace}/{name}: Conflict")
        self.writes += 1
        found["data"] = dict(data)
        found["resourceVersion"] = str(next(self._versions))
        result = await self.read_secret(namespace, name)
        assert result is not None
        return result

    async def request_resync(self, kind: ManagedKind, namespace: str, name: str, token: str) -> None:
        self.resyncs.append((kind.kind, namespace, name, token))

    async def list_resources(self, kind: ManagedKind, namespace: str | None) -> AsyncIterator[dict[str, Any]]:
        for (kind_name, found_namespace, _), body in sorted(self.resources.items()):
            if kind_name == kind.kind and namespace in (None, found_namespace):
                yield copy.deepcopy(body)

    async def patch_status(
        self, kind: ManagedKind, namespace: str, name: str, patch: Mapping[str, Any], resource_version: str
    ) -> bool:
        body = self.resources.get((kind.kind, namespace, name))
        if body is None or body["metadata"]["resourceVersion"] != resource_version:
            return False
        self.status_patches += 1
        self.apply(kind, namespace, name, Outcome(status_patch=dict(patch)))
        body["metadata"]["resourceVersion"] = str(next(self._versions))
        return True

    async def post_event(self, involved: Mapping[str, Any], event: EventRecord) -> None:
        self.events.append((str(involved["metadata"]["name"]), event))
