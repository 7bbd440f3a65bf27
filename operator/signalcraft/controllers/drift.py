"""The periodic drift check: one pass over every object of every kind, every `interval` seconds.

One loop instead of a kopf timer per object: a timer is a task per object (memory grows with the object count, and
10,000 timers wake up 10,000 handler pipelines). A pass pages through each kind's objects (one LIST page per 500),
compares each with the bulk listing of its SignalCraft collection (one listing call per 500 objects), and writes only
what changed: a status patch conditional on the resourceVersion it read (a concurrent change handler wins), and the
Events of transitions. Objects whose latest spec is still being handled (observedGeneration behind) are left to the
change handlers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence

from signalcraft.controllers.engine import Mode, Reconciler
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.model import KubeError, KubeObject
from signalcraft.controllers.ports import KubePort

log = logging.getLogger("signalcraft.operator.drift")


class DriftLoop:
    def __init__(
        self,
        reconciler: Reconciler,
        kube: KubePort,
        kinds: Sequence[ManagedKind],
        *,
        namespaces: Sequence[str],
        interval: float,
        gate: asyncio.Semaphore,
    ) -> None:
        self.reconciler = reconciler
        self.kube = kube
        self.kinds = kinds
        self.namespaces: list[str | None] = [*namespaces] or [None]
        self.interval = interval
        self.gate = gate
        self.metrics = reconciler.metrics

    async def run(self, *, first_delay: float = 0.0) -> None:
        """Pass after pass until cancelled; the first one `first_delay` seconds after the start."""
        await asyncio.sleep(first_delay)
        while True:
            started = time.monotonic()
            try:
                await self.run_once()
            except Exception:  # a pass that failed as a whole (Kubernetes away) is retried at the next interval
                log.exception("drift pass failed")
            elapsed = time.monotonic() - started
            # Spread the next pass a little so restarts of several operators do not align.
            await asyncio.sleep(max(1.0, self.interval - elapsed) * random.uniform(0.9, 1.1))  # noqa: S311

    async def run_once(self) -> int:
        """One pass; returns how many objects it checked."""
        started = time.perf_counter()
        checked = 0
        # One fresh listing per collection for the whole pass, however long the pass takes; let go of it after the
        # pass (a copy of every SignalCraft object, of no use until the next pass lists afresh).
        snapshot = self.reconciler.observer.snapshot
        snapshot.invalidate()
        try:
            async with asyncio.TaskGroup() as tasks:
                for kind in self.kinds:
                    for namespace in self.namespaces:
                        async for body in self.kube.list_resources(kind, namespace):
                            obj = KubeObject(body)
                            if body["metadata"].get("deletionTimestamp") or not obj.observed_generation_is_current:
                                continue
                            await self.gate.acquire()  # bounds the pass's concurrency before a task exists
                            tasks.create_task(self._check(kind, body))
                            checked += 1
        finally:
            snapshot.invalidate()
        self.metrics.drift_passes.inc()
        self.metrics.drift_pass_seconds.set(time.perf_counter() - started)
        self.metrics.drift_pass_completed.set(time.time())
        return checked

    async def _check(self, kind: ManagedKind, body: dict[str, object]) -> None:
        try:
            outcome = await self.reconciler.reconcile(kind, body, mode=Mode.DRIFT)
            obj = KubeObject(body)
            if outcome.status_patch:
                version = str(obj.body["metadata"].get("resourceVersion", ""))
                if await self.kube.patch_status(kind, obj.namespace, obj.name, outcome.status_patch, version):
                    self.metrics.kube_writes.labels("status").inc()
            for event in outcome.events:
                await self.kube.post_event(obj.body, event)
                self.metrics.kube_writes.labels("event").inc()
        except KubeError as exc:
            log.warning("drift check of %s failed: %s", kind.kind, exc)
        finally:
            self.gate.release()
