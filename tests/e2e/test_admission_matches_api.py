"""Admission and the API agree: the real kube-apiserver (server-side dry-run apply of CRs) and the real API server
(PUT ?dry_run=true) judge the same objects alike.

1. Every cross-field rule, on its own examples: CEL at admission and the Python check behind the API give one verdict.
2. Anything the API refuses is refused at admission too: invalid specs generated from the contract models' JSON Schema
   (each bound, enum, pattern, type, required field, unknown field, map key) for every field of every kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from tests.support.api_server import ApiServer, running_api_server
from tests.support.contract import BASES, RULES, embed, invalid_variants, kind_of
from tests.support.kube import Cluster

from signalcraft.controllers.common import API_VERSION
from signalcraft.controllers.derive import kubernetes_json
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.registry import BY_KIND


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with running_api_server(tmp_path_factory.mktemp("api")) as server:
        yield server


def _api_accepts(http: httpx.Client, kind: ManagedKind, spec: dict[str, Any]) -> bool:
    """Whether the API finds the spec valid; references to objects that do not exist are data, not the spec's form
    (the API checks them after the spec validates, admission cannot), so they count as valid."""
    response = http.put(f"/v1/{kind.collection}/probe", params={"dry_run": "true"}, json={"spec": spec})
    assert response.status_code in {200, 201, 422}, response.text
    return response.status_code != 422 or response.json().get("code") == "reference-not-found"


def _admitted(cluster: Cluster, namespace: str, objects: list[tuple[str, ManagedKind, dict[str, Any]]]) -> set[str]:
    """Names of the CRs the kube-apiserver admits, all tried in one server-side dry-run apply."""
    documents = [
        {"apiVersion": API_VERSION, "kind": kind.kind, "metadata": {"name": name}, "spec": spec}
        for name, kind, spec in objects
    ]
    result = cluster.kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=contract-test",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=yaml.safe_dump_all(documents),
        check=False,
        timeout=300,
    )
    admitted = set()
    for line in result.stdout.splitlines():
        # "alertpolicy.signalcraft.io/ex-3 serverside-applied (server dry run)"
        resource, _, verdict = line.partition(" ")
        if "applied" in verdict:
            admitted.add(resource.rsplit("/", 1)[-1])
    refused = len(objects) - len(admitted)
    assert result.stderr.count("Error from server") + result.stderr.count("error:") >= refused or not refused, (
        result.stderr[-2000:]
    )
    return admitted


def test_every_rule_gives_one_verdict_at_admission_and_in_the_api(
    crds: Cluster, namespace: str, api: ApiServer
) -> None:
    cases: list[tuple[str, ManagedKind, dict[str, Any], bool, str]] = []
    for model, rule in RULES:
        kind, path = kind_of(model)
        if kind is None:
            continue  # the rule's model has no CRD (yet): the unit tests run its Python side
        base = BASES[kind.kind][0]
        for valid, examples in ((True, rule.valid), (False, rule.invalid)):
            for example in examples:
                api_spec = embed(base, path, dict(example))
                cases.append((f"rule-{len(cases)}", kind, api_spec, valid, f"{rule.message} on {example}"))
    assert len(cases) >= 20
    admitted = _admitted(
        crds, namespace, [(name, kind, kubernetes_json(spec, kind.spec_model)) for name, kind, spec, *_ in cases]
    )
    disagreements = []
    with api.client() as http:
        for name, kind, spec, valid, what in cases:
            verdicts = {"expected": valid, "api": _api_accepts(http, kind, spec), "admission": name in admitted}
            if len(set(verdicts.values())) != 1:
                disagreements.append(f"{kind.kind} {what}: {verdicts}")
    assert not disagreements, "\n".join(disagreements)


def test_anything_the_api_refuses_is_refused_at_admission(crds: Cluster, namespace: str, api: ApiServer) -> None:
    cases: list[tuple[str, ManagedKind, dict[str, Any], str]] = []
    api_accepted: list[str] = []
    with api.client() as http:
        for kind_name, bases in BASES.items():
            kind = BY_KIND[kind_name]
            for base in bases:
                assert _api_accepts(http, kind, base), f"{kind_name} base {base} is refused by the API"
                cases.append((f"base-{len(cases)}", kind, base, "valid base"))
                for what, spec in invalid_variants(kind.api_spec_model, base):
                    if _api_accepts(http, kind, spec):
                        api_accepted.append(f"{kind_name} {what}")
                        continue
                    cases.append((f"ex-{len(cases)}", kind, spec, what))
    invalid = [case for case in cases if not case[0].startswith("base-")]
    assert len(invalid) >= 150, len(invalid)
    assert not api_accepted, "the API accepts what its own schema refuses:\n" + "\n".join(api_accepted)
    objects = [(name, kind, kubernetes_json(spec, kind.spec_model)) for name, kind, spec, _ in cases]
    admitted = _admitted(crds, namespace, objects)
    bases_refused = [
        f"{kind.kind} {spec}" for name, kind, spec, _ in cases if name.startswith("base-") and name not in admitted
    ]
    assert not bases_refused, "valid specs refused at admission:\n" + "\n".join(bases_refused)
    leaks = [f"{kind.kind} {what}: {spec}" for name, kind, spec, what in invalid if name in admitted]
    assert not leaks, f"{len(leaks)} objects the API refuses pass admission:\n" + "\n".join(leaks[:40])
