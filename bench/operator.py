"""Operator benchmark: the operator beside a bare asyncio script doing the same minimal work, in one run.

(a) N objects of mixed kinds (AlertPolicy, EscalationPolicy, Integration) created at once → time until all are Ready,
    next to a bare script that creates the same N objects and does only one remote PUT and one status patch per
    object; the ratio is the operator's overhead.
(b) Steady state: one drift pass over the N objects — SignalCraft writes, Kubernetes writes, calls per object.
(c) Operator RSS with N objects.
(d) A restart with the N objects in place: time until the first drift pass has ended, and the writes until then.

Everything is real: the local kube-apiserver + etcd, the API server and the operator as processes, over loopback.
Run: `make bench` or `.venv/bin/python -m bench.operator --objects 1000` (as a module: the file name shadows
the standard library's `operator` when run as a script).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "operator")]

import httpx2  # noqa: E402 - the HTTP client lightkube uses
from lightkube import ApiError, AsyncClient  # noqa: E402
from lightkube.generic_resource import create_namespaced_resource  # noqa: E402
from lightkube.models.meta_v1 import ObjectMeta  # noqa: E402
from lightkube.resources.core_v1 import Namespace  # noqa: E402
from lightkube.types import PatchType  # noqa: E402
from tests.support.api_server import running_api_server  # noqa: E402
from tests.support.kube import Cluster, cluster_session  # noqa: E402
from tests.support.operator import OperatorProcess, running_operator  # noqa: E402
from tests.support.processes import wait_until  # noqa: E402

from signalcraft.api import Manager, SignalCraftClient  # noqa: E402


@dataclass(frozen=True)
class BenchKind:
    """One kind of the mix: its CR spec and the API body the bare script PUTs for it."""

    kind: str
    plural: str
    collection: str
    spec: dict[str, Any]
    remote_spec: dict[str, Any]

    @property
    def resource(self) -> Any:
        return create_namespaced_resource("signalcraft.io", "v1alpha1", self.kind, self.plural)


MIX = (
    BenchKind(
        "AlertPolicy",
        "alertpolicies",
        "alert-policies",
        {"severity": "critical", "routingKey": "bench", "conditions": []},
        {"severity": "critical", "routing_key": "bench", "conditions": [], "escalation_policy": None},
    ),
    BenchKind(
        "EscalationPolicy",
        "escalationpolicies",
        "escalation-policies",
        {"rules": [{"delayMinutes": 0, "targets": [{"type": "user", "name": "alice"}]}]},
        {"rules": [{"delay_minutes": 0, "targets": [{"type": "user", "name": "alice"}]}], "num_loops": 0},
    ),
    BenchKind("Integration", "integrations", "integrations", {"type": "events-api"}, {"type": "events-api"}),
)
"""Mixed kinds, one after the other (object i is of kind i mod 3); `alice` is in the seeded directory."""
RESOURCES = {kind.kind: kind.resource for kind in MIX}


def _of(index: int) -> tuple[BenchKind, str]:
    kind = MIX[index % len(MIX)]
    return kind, f"{kind.plural[:2]}{index:05d}"


def _object(index: int, namespace: str) -> Any:
    kind, name = _of(index)
    return RESOURCES[kind.kind](metadata=ObjectMeta(name=name, namespace=namespace), spec=kind.spec)


async def _create_all(kube: AsyncClient, namespace: str, count: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def create(index: int) -> None:
        async with gate:
            for _ in range(5):
                try:
                    await kube.create(_object(index, namespace))
                    return
                except httpx2.TimeoutException:
                    continue  # a loaded API server; the create may have landed, which the next try finds out
                except ApiError as exc:
                    if exc.status.code == 409:
                        return
                    raise

    await asyncio.gather(*(create(i) for i in range(count)))


async def bare_script(
    kube: AsyncClient, api_url: str, api_key: str, namespace: str, count: int, concurrency: int
) -> float:
    """The floor: create each object, one create-or-replace PUT, one status patch. No reads, no events, no checks."""
    gate = asyncio.Semaphore(concurrency)
    async with SignalCraftClient(api_url, api_key) as api:

        async def one(index: int) -> None:
            kind, name = _of(index)
            async with gate:
                created = await kube.create(_object(index, namespace))
                result = await api.put(
                    kind.collection,
                    f"{namespace}.{name}",
                    kind.remote_spec,
                    manager=Manager(identity=f"k8s://bare/{namespace}/{kind.kind}/{name}"),
                )
                status = {
                    "status": {
                        "observedGeneration": created.metadata.generation,
                        "remoteId": result.resource.id,
                        "conditions": [{"type": "Ready", "status": "True", "reason": "Synced", "message": ""}],
                    }
                }
                await kube.patch(
                    RESOURCES[kind.kind].Status, name, status, namespace=namespace, patch_type=PatchType.MERGE
                )

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return time.perf_counter() - started


async def operator_run(kube: AsyncClient, namespace: str, count: int, concurrency: int) -> float:
    """Create the same objects and wait until the operator has made every one Ready (watched, not polled)."""
    ready: set[tuple[str, str]] = set()
    done = asyncio.Event()

    async def watch(resource: Any) -> None:
        async for _, obj in kube.watch(resource, namespace=namespace):
            status = obj.status or {}
            conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
            if conditions.get("Ready") == "True" and status.get("observedGeneration") == obj.metadata.generation:
                ready.add((obj.kind, obj.metadata.name))
                if len(ready) >= count:
                    done.set()

    watchers = [asyncio.create_task(watch(resource)) for resource in RESOURCES.values()]
    started = time.perf_counter()
    await _create_all(kube, namespace, count, concurrency)
    await asyncio.wait_for(done.wait(), timeout=3600)
    elapsed = time.perf_counter() - started
    for watcher in watchers:
        watcher.cancel()
    return elapsed


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _resource_versions(kube: AsyncClient, namespace: str) -> dict[tuple[str, str], str]:
    return {
        (kind, obj.metadata.name): obj.metadata.resourceVersion
        for kind, resource in RESOURCES.items()
        async for obj in kube.list(resource, namespace=namespace, chunk_size=500)
    }


def _api_calls(operator: OperatorProcess, *operations: str) -> float:
    if not operations:
        return operator.counter("signalcraft_operator_api_calls")
    return sum(operator.counter("signalcraft_operator_api_calls", operation=op) for op in operations)


def _gauge(operator: OperatorProcess, name: str) -> float:
    return sum(value for (sample, _), value in operator.metrics().items() if sample == name)


def _wait_drift_passes(operator: OperatorProcess, after: float, timeout: float) -> None:
    wait_until(
        lambda: operator.counter("signalcraft_operator_drift_passes") > after,
        timeout=timeout,
        interval=0.5,
        what="a drift pass over every object",
    )


async def _drift_pass(
    kube: AsyncClient, operator: OperatorProcess, count: int, timeout: float
) -> tuple[float, float, int, float, float]:
    """Wait for the next complete drift pass; (SignalCraft writes, K8s writes, objects changed, list calls/object,
    other SignalCraft calls/object) during it."""
    versions = await _resource_versions(kube, "bench-operator")
    passes = operator.counter("signalcraft_operator_drift_passes")
    writes = _api_calls(operator, "create", "update", "adopt")
    lists = _api_calls(operator, "list")
    calls = _api_calls(operator)
    kube_writes = operator.counter("signalcraft_operator_kubernetes_writes")
    # The pass under way when we started may have begun before `versions` were read: measure the one after it.
    _wait_drift_passes(operator, passes, timeout)
    passes = operator.counter("signalcraft_operator_drift_passes")
    writes = _api_calls(operator, "create", "update", "adopt")
    lists = _api_calls(operator, "list")
    calls = _api_calls(operator)
    kube_writes = operator.counter("signalcraft_operator_kubernetes_writes")
    _wait_drift_passes(operator, passes, timeout)
    changed = sum(
        1 for key, rv in (await _resource_versions(kube, "bench-operator")).items() if versions.get(key) != rv
    )
    list_calls = _api_calls(operator, "list") - lists
    others = _api_calls(operator) - calls - list_calls
    return (
        _api_calls(operator, "create", "update", "adopt") - writes,
        operator.counter("signalcraft_operator_kubernetes_writes") - kube_writes,
        changed,
        list_calls / count,
        others / count,
    )


async def main(count: int, concurrency: int, drift_interval: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="signalcraft-bench-"))
    with cluster_session(workdir / "cluster") as cluster, running_api_server(workdir / "api") as api:
        _install_crds(cluster)
        kube = AsyncClient(config=_kubeconfig(cluster), field_manager="bench", timeout=httpx2.Timeout(120.0))
        for namespace in ("bench-bare", "bench-operator"):
            await kube.create(Namespace(metadata=ObjectMeta(name=namespace)))
        bare = await bare_script(kube, api.url, api.admin_key, "bench-bare", count, concurrency)
        options: dict[str, Any] = {"namespaces": ["bench-operator"], "drift_interval": drift_interval}
        timeout = drift_interval * 3 + 600
        with running_operator(cluster, api.url, api.admin_key, workdir / "operator", **options) as operator:
            op = await operator_run(kube, "bench-operator", count, concurrency)
            rss = _rss_mib(operator.program.process.pid)  # type: ignore[union-attr]
            # (b) one drift pass over all objects once everything has settled
            api_writes, kube_writes, changed, lists, others = await _drift_pass(kube, operator, count, timeout)
            rss_after = _rss_mib(operator.program.process.pid)  # type: ignore[union-attr]
            pass_seconds = _gauge(operator, "signalcraft_operator_drift_pass_seconds")
        # (d) a restart with every object in place: until the first drift pass ends, nothing may be written
        versions = await _resource_versions(kube, "bench-operator")
        started = time.perf_counter()
        with running_operator(
            cluster, api.url, api.admin_key, workdir / "operator", name="restarted", **options
        ) as restarted:
            _wait_drift_passes(restarted, 0, timeout)
            restart = time.perf_counter() - started
            restart_writes = _api_calls(restarted, "create", "update", "adopt")
            restart_kube = restarted.counter("signalcraft_operator_kubernetes_writes")
            restart_rss = _rss_mib(restarted.program.process.pid)  # type: ignore[union-attr]
        restart_changed = sum(
            1 for key, rv in (await _resource_versions(kube, "bench-operator")).items() if versions.get(key) != rv
        )
        await kube.close()

    rows = [
        ("(a) bare script: create + PUT + status patch", f"{bare:.1f} s", f"{count / bare:.0f} objects/s"),
        ("(a) operator: create → all Ready", f"{op:.1f} s", f"{count / op:.0f} objects/s"),
        ("(a) ratio operator / bare (goal ≤ 1.3)", f"{op / bare:.2f}x", ""),
        ("(b) SignalCraft writes in one drift pass (goal 0)", f"{api_writes:.0f}", ""),
        ("(b) Kubernetes writes in one drift pass (goal 0)", f"{kube_writes:.0f} counted, {changed} changed", ""),
        ("(b) SignalCraft list calls per object (goal ≤ 0.01)", f"{lists:.4f}", f"other calls {others:.4f}/object"),
        ("(b) drift pass duration", f"{pass_seconds:.1f} s", ""),
        ("(c) operator RSS (goal ≤ 200 MB)", f"{rss:.0f} MiB after create, {rss_after:.0f} after drift", ""),
        ("(d) restart → first drift pass done", f"{restart:.1f} s", f"RSS {restart_rss:.0f} MiB"),
        (
            "(d) writes until then (goal 0)",
            f"{restart_writes:.0f} SignalCraft, {restart_kube:.0f} K8s, {restart_changed} changed",
            "",
        ),
    ]
    width = max(len(row[0]) for row in rows)
    kinds = "/".join(kind.kind for kind in MIX)
    print(f"\noperator benchmark: {count} objects ({kinds}), creation concurrency {concurrency}, loopback")
    for label, value, note in rows:
        print(f"  {label:<{width}}  {value:<48} {note}")


def _kubeconfig(cluster: Cluster) -> Any:
    from lightkube.config.kubeconfig import KubeConfig

    return KubeConfig.from_file(str(cluster.kubeconfig))


def _install_crds(cluster: Cluster) -> None:
    cluster.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(REPO / "crds"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--drift-interval", type=float, default=30.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.objects, arguments.concurrency, arguments.drift_interval))
