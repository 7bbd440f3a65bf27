"""`signalcraft plan` and `signalcraft export`: the GitOps review loop without a cluster.

`plan -f DIR` reads CR manifests (plain YAML or a rendered chart) and prints, per object, what applying them would do to
SignalCraft — create, update (field by field), adopt, no-op, ownership conflict — plus the objects this cluster manages
that the manifests no longer declare (orphans the operator would delete). Exit codes follow `terraform plan
-detailed-exitcode`: 0 no changes, 2 changes, 1 error (including a conflict, which applying could not resolve).

`export` writes CRs for SignalCraft objects nobody manages, with `remoteName` set, so applying them adopts the objects.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import ValidationError

from signalcraft.api import Resource, SignalCraftClient
from signalcraft.api import errors as api_errors
from signalcraft.controllers.common import API_VERSION
from signalcraft.controllers.decide import ActionType, Observation, decide
from signalcraft.controllers.kind import ManagedKind, ResolvedReference
from signalcraft.controllers.model import identity_of, identity_prefix
from signalcraft.controllers.registry import BY_KIND, KINDS

NO_CHANGES, ERROR, CHANGES = 0, 1, 2


@dataclass(frozen=True)
class Declared:
    kind: ManagedKind
    namespace: str
    name: str
    document: Mapping[str, Any]
    source: str

    @property
    def remote_name(self) -> str:
        remote = (self.document.get("spec") or {}).get("remoteName")
        return str(remote) if remote else f"{self.namespace}.{self.name}"


@dataclass(frozen=True)
class Step:
    action: str
    collection: str
    remote_name: str
    details: tuple[str, ...] = ()

    @property
    def is_change(self) -> bool:
        return self.action in {"create", "update", "adopt", "delete"}


def read_manifests(paths: Iterable[Path], default_namespace: str) -> list[Declared]:
    declared: list[Declared] = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"}) if path.is_dir() else [path]
        for file in files:
            for document in yaml.safe_load_all(file.read_text()):
                if not isinstance(document, dict) or document.get("apiVersion") != API_VERSION:
                    continue
                kind = BY_KIND.get(str(document.get("kind")))
                if kind is None:
                    continue
                metadata = document.get("metadata") or {}
                namespace = str(metadata.get("namespace") or default_namespace)
                declared.append(Declared(kind, namespace, str(metadata.get("name")), document, str(file)))
    return declared


def _desired(item: Declared, everything: list[Declared]) -> Mapping[str, Any]:
    spec = item.kind.parse_spec(item.document.get("spec") or {})
    resolved: dict[str, ResolvedReference] = {}
    for reference in item.kind.references(spec):
        target = next(
            (
                d
                for d in everything
                if d.kind.kind == reference.kind and d.namespace == item.namespace and d.name == reference.name
            ),
            None,
        )
        remote = target.remote_name if target is not None else f"{item.namespace}.{reference.name}"
        resolved[reference.field_path] = ResolvedReference(reference, remote)
    return item.kind.desired(spec, resolved).spec


def _value(document: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/"):
        if isinstance(document, Mapping):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


_PLAN_STEP = {
    ActionType.CREATE: "create",
    ActionType.RECREATE: "create",
    ActionType.ADOPT: "adopt",
    ActionType.UPDATE: "update",
    ActionType.CORRECT_DRIFT: "update",
    ActionType.REPORT_DRIFT: "update",
    ActionType.CONFLICT: "conflict",
    ActionType.NO_OP: "no-op",
}


async def plan(api: SignalCraftClient, declared: list[Declared], cluster_id: str) -> list[Step]:
    """Per manifest, the action the operator's own `decide` picks against the live SignalCraft object."""
    steps: list[Step] = []
    for item in declared:
        desired = _desired(item, declared)
        collection = item.kind.collection
        try:
            remote: Resource | None = await api.get(collection, item.remote_name)
        except api_errors.NotFoundError:
            remote = None
        metadata = item.document.get("metadata") or {}
        observation = Observation(
            identity=identity_of(cluster_id, item.namespace, item.kind.kind, item.name),
            generation=int(metadata.get("generation") or 1),
            desired_spec=desired,
            remote_read=True,
            remote=remote,
        )
        action = decide(observation)
        step = _PLAN_STEP.get(action.type, action.type.value)
        if remote is None:
            details = tuple(f"+ {k}: {v}" for k, v in desired.items())
        elif action.type is ActionType.CONFLICT:
            details = (f"managed by {action.owner}",)
        else:
            details = tuple(f"~ {p}: {_value(remote.spec, p)!r} -> {_value(desired, p)!r}" for p in action.differences)
        steps.append(Step(step, collection, item.remote_name, details))
    declared_names = {(item.kind.collection, item.remote_name) for item in declared}
    for kind in KINDS:
        async for listed in api.list(
            kind.collection, manager_identity=f"{identity_prefix(cluster_id)}*", page_size=500
        ):
            if (kind.collection, listed.name) not in declared_names:
                steps.append(Step("delete", kind.collection, listed.name, ("no manifest declares it any more",)))
    return steps


def to_manifest(kind: ManagedKind, remote_name: str, spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """A CR that adopts the SignalCraft object `remote_name` (the kind's own mapping of the API spec)."""
    body = kind.manifest_spec(spec, namespace)
    body["remoteName"] = remote_name
    name = re.sub(r"[^a-z0-9-]+", "-", remote_name.removeprefix(f"{namespace}.").lower()).strip("-")[:63] or "imported"
    kind.parse_spec(body)  # refuse to write a manifest the CRD would refuse
    return {
        "apiVersion": API_VERSION,
        "kind": kind.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


async def export(api: SignalCraftClient, namespace: str) -> list[dict[str, Any]]:
    manifests = []
    for kind in KINDS:
        async for remote in api.list(kind.collection, page_size=500):
            if remote.manager is None:
                manifests.append(to_manifest(kind, remote.name, remote.spec, namespace))
    return manifests


api_options = [
    click.option("--api-url", envvar="SIGNALCRAFT_API_URL", required=True, help="SignalCraft API base URL."),
    click.option(
        "--api-key-file",
        envvar="SIGNALCRAFT_API_KEY_FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        help="File holding a read-only API key.",
    ),
]


def _with_api_options(command: Any) -> Any:
    for option in reversed(api_options):
        command = option(command)
    return command


@click.command("plan")
@click.option("-f", "--filename", "paths", multiple=True, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--cluster-id", envvar="SIGNALCRAFT_CLUSTER_ID", required=True, help="The operator's cluster id.")
@click.option("--namespace", default="default", show_default=True, help="For manifests without a namespace.")
@_with_api_options
def plan_command(paths: tuple[Path, ...], cluster_id: str, namespace: str, api_url: str, api_key_file: Path) -> None:
    """Show what applying the manifests would change in SignalCraft; exit 0 none, 2 changes, 1 error."""
    try:
        declared = read_manifests(paths, namespace)
    except (yaml.YAMLError, OSError) as exc:
        click.echo(f"error: cannot read the manifests: {exc}", err=True)
        sys.exit(ERROR)

    key = api_key_file.read_text().strip()

    async def run() -> list[Step]:
        async with SignalCraftClient(api_url, key) as api:
            return await plan(api, declared, cluster_id)

    try:
        steps = asyncio.run(run())
    except ValidationError as exc:
        click.echo(f"error: a manifest does not validate: {exc}", err=True)
        sys.exit(ERROR)
    except api_errors.SignalCraftError as exc:
        click.echo(f"error: the SignalCraft API refused: {exc}", err=True)
        sys.exit(ERROR)
    for step in steps:
        click.echo(f"{step.action:>8}  {step.collection}/{step.remote_name}")
        for line in step.details:
            click.echo(f"            {line}")
    counts = {
        action: sum(1 for s in steps if s.action == action)
        for action in ("create", "update", "adopt", "delete", "conflict", "no-op")
    }
    click.echo("Plan: " + ", ".join(f"{n} {action}" for action, n in counts.items()))
    if counts["conflict"]:
        sys.exit(ERROR)
    sys.exit(CHANGES if any(step.is_change for step in steps) else NO_CHANGES)


@click.command("export")
@click.option("--namespace", default="default", show_default=True, help="Namespace for the exported CRs.")
@_with_api_options
def export_command(namespace: str, api_url: str, api_key_file: Path) -> None:
    """Print CRs for every SignalCraft object that no cluster manages, ready to adopt with kubectl apply."""

    key = api_key_file.read_text().strip()

    async def run() -> list[dict[str, Any]]:
        async with SignalCraftClient(api_url, key) as api:
            return await export(api, namespace)

    click.echo(yaml.safe_dump_all(asyncio.run(run()), sort_keys=False), nl=False)
