"""Operator benchmark: the operator beside a bare asyncio script doing the same minimal work, in one run.

(a) N AlertPolicies created at once → time until all are Ready, next to a bare script that creates the same N objects
    and does only one remote PUT and one status patch per object; the ratio is the operator's overhead.
(b) Steady state: one drift pass over the N objects — SignalCraft writes, Kubernetes writes, remote calls per object.
(c) Operator RSS with N objects.

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
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "operator")]

from lightkube import AsyncClient  # noqa: E402
from lightkube.generic_resource import create_namespaced_resource  # noqa: E402
from lightkube.models.meta_v1 import ObjectMeta  # noqa: E402
from lightkube.resources.core_v1 import Namespace  # noqa: E402
from lightkube.types import PatchType  # noqa: E402
from tests.support.api_server import running_api_server  # noqa: E402
from tests.support.kube import Cluster, cluster_session  # noqa: E402
from tests.support.operator import OperatorProcess, running_operator  # noqa: E402
from tests.support.processes import wait_until  # noqa: E402

from signalcraft.api import Manager, SignalCraftClient  # noqa: E402

AlertPolicy = create_namespaced_resource("signalcraft.io", "v1alpha1", "AlertPolicy", "alertpolicies")
SPEC = {"severity": "critical", "routingKey": "bench", "conditions": []}
REMOTE_SPEC = {"severity": "critical", "routing_key": "bench", "conditions": [], "escalation_policy": None}


def _policy(name: str, namespace: str) -> Any:
    return AlertPolicy(metadata=ObjectMeta(name=name, namespace=namespace), spec=SPEC)


async def _create_all(kube: AsyncClient, namespace: str, count: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def create(index: int) -> None:
        async with gate:
            await kube.create(_policy(f"p{index:05d}", namespace))

    await asyncio.gather(*(create(i) for i in range(count)))


async def bare_script(
    kube: AsyncClient, api_url: str, api_key: str, namespace: str, count: int, concurrency: int
) -> float:
    """The floor: create each object, one create-or-replace PUT, one status patch. No reads, no events, no checks."""
    gate = asyncio.Semaphore(concurrency)
    async with SignalCraftClient(api_url, api_key) as api:

        async def one(index: int) -> None:
            name = f"p{index:05d}"
            async with gate:
                created = await kube.create(_policy(name, namespace))
                result = await api.put(
                    "alert-policies",
                    f"{namespace}.{name}",
                    REMOTE_SPEC,
                    manager=Manager(identity=f"k8s://bare/{namespace}/AlertPolicy/{name}"),
                )
                status = {
                    "status": {
                        "observedGeneration": created.metadata.generation,
                        "remoteId": result.resource.id,
                        "conditions": [{"type": "Ready", "status": "True", "reason": "Synced", "message": ""}],
                    }
                }
                await kube.patch(AlertPolicy.Status, name, status, namespace=namespace, patch_type=PatchType.MERGE)

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return time.perf_counter() - started


async def operator_run(kube: AsyncClient, namespace: str, count: int, concurrency: int) -> float:
    """Create the same objects and wait until the operator has made every one Ready (watched, not polled)."""
    ready: set[str] = set()
    done = asyncio.Event()

    async def watch() -> None:
        async for _, obj in kube.watch(AlertPolicy, namespace=namespace):
            status = obj.status or {}
            conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
            if conditions.get("Ready") == "True" and status.get("observedGeneration") == obj.metadata.generation:
                ready.add(obj.metadata.name)
                if len(ready) >= count:
                    done.set()
                    return

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    await _create_all(kube, namespace, count, concurrency)
    await asyncio.wait_for(done.wait(), timeout=1800)
    elapsed = time.perf_counter() - started
    watcher.cancel()
    return elapsed


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _resource_versions(kube: AsyncClient, namespace: str) -> dict[str, str]:
    return {
        obj.metadata.name: obj.metadata.resourceVersion async for obj in kube.list(AlertPolicy, namespace=namespace)
    }


def _api_calls(operator: OperatorProcess, *operations: str) -> float:
    if not operations:
        return operator.counter("signalcraft_operator_api_calls")
    return sum(operator.counter("signalcraft_operator_api_calls", operation=op) for op in operations)


async def main(count: int, concurrency: int, drift_interval: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="signalcraft-bench-"))
    with cluster_session(workdir / "cluster") as cluster, running_api_server(workdir / "api") as api:
        _install_crds(cluster)
        kube = AsyncClient(config=_kubeconfig(cluster), field_manager="bench")
        for namespace in ("bench-bare", "bench-operator"):
            await kube.create(Namespace(metadata=ObjectMeta(name=namespace)))
        bare = await bare_script(kube, api.url, api.admin_key, "bench-bare", count, concurrency)
        with running_operator(
            cluster,
            api.url,
            api.admin_key,
            workdir / "operator",
            namespaces=["bench-operator"],
            drift_interval=drift_interval,
        ) as operator:
            op = await operator_run(kube, "bench-operator", count, concurrency)
            rss = _rss_mib(operator.program.process.pid)  # type: ignore[union-attr]

            # (b) one drift pass over all objects once everything has settled
            versions = await _resource_versions(kube, "bench-operator")
            writes_before = _api_calls(operator, "create", "update", "adopt")
            calls_before = _api_calls(operator)
            kube_before = operator.counter("signalcraft_operator_kubernetes_writes")
            passes = operator.counter("signalcraft_operator_reconciles", mode="drift")
            wait_until(
                lambda: operator.counter("signalcraft_operator_reconciles", mode="drift") >= passes + count,
                timeout=drift_interval * 3 + 120,
                interval=1,
                what="one drift pass over every object",
            )
            changed = sum(
                1 for name, rv in (await _resource_versions(kube, "bench-operator")).items() if versions.get(name) != rv
            )
            api_writes = _api_calls(operator, "create", "update", "adopt") - writes_before
            per_object = (_api_calls(operator) - calls_before) / count
            kube_writes = operator.counter("signalcraft_operator_kubernetes_writes") - kube_before
            rss_after = _rss_mib(operator.program.process.pid)  # type: ignore[union-attr]
        await kube.close()

    rows = [
        ("(a) bare script: create + PUT + status patch", f"{bare:.1f} s", f"{count / bare:.0f} objects/s"),
        ("(a) operator: create → all Ready", f"{op:.1f} s", f"{count / op:.0f} objects/s"),
        ("(a) ratio operator / bare (goal ≤ 1.5)", f"{op / bare:.2f}x", ""),
        ("(b) SignalCraft writes in one drift pass (goal 0)", f"{api_writes:.0f}", ""),
        (
            "(b) Kubernetes writes in one drift pass (goal 0)",
            f"{kube_writes:.0f} counted, {changed} objects changed",
            "",
        ),
        ("(b) SignalCraft calls per object per drift pass", f"{per_object:.3f}", "bulk listing"),
        ("(c) operator RSS", f"{rss:.0f} MiB after create, {rss_after:.0f} MiB after drift", f"{count} objects"),
    ]
    width = max(len(row[0]) for row in rows)
    print(
        f"\noperator benchmark: {count} AlertPolicies, creation concurrency {concurrency}, operator defaults, loopback"
    )
    for label, value, note in rows:
        print(f"  {label:<{width}}  {value:<40} {note}")


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
