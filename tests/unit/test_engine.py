"""The reconcile engine against the real API server, in-process (httpx's ASGI transport), and a fake Kubernetes port.

No network, no kopf: observe → decide → act → status as the operator runs it, with SignalCraft's real behaviour
(create-only PUTs, If-Match, ownership, in-use refusals) underneath.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.api_server import bootstrap
from tests.support.fake_kube import FakeKube

from signalcraft.api import Manager, SignalCraftClient
from signalcraft.controllers.alertpolicy import AlertPolicyKind
from signalcraft.controllers.drift import DriftLoop
from signalcraft.controllers.engine import Mode, Outcome, Reconciler
from signalcraft.controllers.escalationpolicy import EscalationPolicyKind
from signalcraft.controllers.integration import IntegrationKind
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.metrics import OperatorMetrics
from signalcraft.server.app import create_app

NS = "team-a"
ALERT, ESCALATION, INTEGRATION = AlertPolicyKind(), EscalationPolicyKind(), IntegrationKind()
POLICY = {"severity": "critical", "routingKey": "db"}
ESCALATION_SPEC = {"rules": [{"delayMinutes": 0, "targets": [{"type": "user", "name": "ada"}]}]}


@dataclass
class Harness:
    engine: Reconciler
    kube: FakeKube
    api: SignalCraftClient

    async def reconcile(self, kind: ManagedKind, name: str, mode: Mode = Mode.CHANGE) -> Outcome:
        body = await self.kube.get_resource(kind, NS, name)
        assert body is not None
        outcome = await self.engine.reconcile(kind, body, mode=mode)
        self.kube.apply(kind, NS, name, outcome)
        return outcome

    def condition(self, kind: ManagedKind, name: str, type_: str) -> tuple[str, str]:
        for entry in self.kube.resources[(kind.kind, NS, name)]["status"].get("conditions", []):
            if entry["type"] == type_:
                return entry["status"], entry["reason"]
        return "", ""

    def api_calls(self, operation: str) -> float:
        metric = self.engine.metrics.api_calls
        return sum(
            sample.value
            for family in metric.collect()
            for sample in family.samples
            if sample.name.endswith("_total") and sample.labels["operation"] == operation
        )


@pytest.fixture(scope="module")
def admin_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("api") / "signalcraft.db"
    return db, bootstrap(db)


@pytest.fixture
async def harness(admin_key: tuple[Path, str]) -> AsyncIterator[Harness]:
    db, key = admin_key
    app = create_app(db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with SignalCraftClient("http://signalcraft.test", key, transport=transport) as api:
            # Escalation targets must name people who exist in SignalCraft.
            await api.put("users", "ada", {"email": "ada@example.com"})
            kube = FakeKube()
            yield Harness(Reconciler(api, kube, cluster_id="engine-test", metrics=OperatorMetrics()), kube, api)


def unique(request: pytest.FixtureRequest) -> str:
    return request.node.name.replace("_", "-").lower()[-40:].strip("-")


async def test_create_then_a_second_pass_writes_nothing(harness: Harness, request: pytest.FixtureRequest) -> None:
    name = unique(request)
    harness.kube.add(ALERT, NS, name, POLICY)
    created = await harness.reconcile(ALERT, name)
    assert [event.reason for event in created.events] == ["Created"]
    assert harness.condition(ALERT, name, "Ready") == ("True", "Synced")
    assert harness.api_calls("create") == 1
    assert harness.api_calls("get") == 0, "a brand-new resource is created without reading first"
    again = await harness.reconcile(ALERT, name)
    assert again.status_patch == {}
    assert again.events == []
    stored = await harness.api.get("alert-policies", f"{NS}.{name}")
    assert stored.spec["routing_key"] == "db"
    assert stored.manager is not None
    assert stored.manager.identity == f"k8s://engine-test/{NS}/AlertPolicy/{name}"


async def test_reference_waits_then_resolves_to_the_remote_name(
    harness: Harness, request: pytest.FixtureRequest
) -> None:
    name = unique(request)
    harness.kube.add(ALERT, NS, name, {**POLICY, "escalationPolicyRef": {"name": f"{name}-ep"}})
    await harness.reconcile(ALERT, name)
    assert harness.condition(ALERT, name, "ReferencesResolved") == ("False", "ReferenceNotFound")
    harness.kube.add(ESCALATION, NS, f"{name}-ep", ESCALATION_SPEC)
    await harness.reconcile(ALERT, name)
    assert harness.condition(ALERT, name, "ReferencesResolved") == ("False", "ReferenceNotReady")
    await harness.reconcile(ESCALATION, f"{name}-ep")
    await harness.reconcile(ALERT, name)
    assert harness.condition(ALERT, name, "Ready") == ("True", "Synced")
    stored = await harness.api.get("alert-policies", f"{NS}.{name}")
    assert stored.spec["escalation_policy"] == {"name": f"{NS}.{name}-ep"}


async def test_drift_is_corrected_and_reported_per_policy(harness: Harness, request: pytest.FixtureRequest) -> None:
    name = unique(request)
    harness.kube.add(ALERT, NS, name, POLICY)
    harness.kube.add(ALERT, NS, f"{name}-r", {**POLICY, "driftPolicy": "Report"})
    for each in (name, f"{name}-r"):
        await harness.reconcile(ALERT, each)
        current = await harness.api.get("alert-policies", f"{NS}.{each}")
        await harness.api.put(
            "alert-policies",
            current.name,
            {**current.spec, "severity": "info"},
            manager=current.manager,
            if_match=current.etag,
        )
    corrected = await harness.reconcile(ALERT, name, Mode.DRIFT)
    assert [event.reason for event in corrected.events] == ["Drifted"]
    assert (await harness.api.get("alert-policies", f"{NS}.{name}")).spec["severity"] == "critical"
    reported = await harness.reconcile(ALERT, f"{name}-r", Mode.DRIFT)
    assert [event.reason for event in reported.events] == ["Drifted"]
    assert harness.condition(ALERT, f"{name}-r", "Drifted") == ("True", "DriftDetected")
    assert (await harness.api.get("alert-policies", f"{NS}.{name}-r")).spec["severity"] == "info"


async def test_an_existing_object_is_adopted_or_refused_by_its_manager(
    harness: Harness, request: pytest.FixtureRequest
) -> None:
    name = unique(request)
    await harness.api.put("alert-policies", f"{NS}.{name}", {"severity": "info", "routing_key": "x"})
    await harness.api.put(
        "alert-policies",
        f"{NS}.{name}-taken",
        {"severity": "info", "routing_key": "x"},
        manager=Manager(kind="terraform", identity="terraform://state/x"),
    )
    harness.kube.add(ALERT, NS, name, POLICY)
    harness.kube.add(ALERT, NS, f"{name}-taken", POLICY)
    adopted = await harness.reconcile(ALERT, name)
    assert [event.reason for event in adopted.events] == ["Adopted"], "the create-only PUT met 412 and re-decided"
    refused = await harness.reconcile(ALERT, f"{name}-taken")
    assert [event.reason for event in refused.events] == ["ManagementConflict"]
    assert harness.condition(ALERT, f"{name}-taken", "Stalled") == ("True", "ManagementConflict")
    assert (await harness.api.get("alert-policies", f"{NS}.{name}-taken")).spec["routing_key"] == "x"


async def test_deleting_a_referenced_policy_is_blocked_and_orphan_releases(
    harness: Harness, request: pytest.FixtureRequest
) -> None:
    name = unique(request)
    harness.kube.add(ESCALATION, NS, f"{name}-ep", ESCALATION_SPEC)
    harness.kube.add(
        ALERT, NS, name, {**POLICY, "escalationPolicyRef": {"name": f"{name}-ep"}, "deletionPolicy": "Orphan"}
    )
    await harness.reconcile(ESCALATION, f"{name}-ep")
    await harness.reconcile(ALERT, name)
    blocked = await harness.engine.finalize(ESCALATION, harness.kube.resources[("EscalationPolicy", NS, f"{name}-ep")])
    assert not blocked.finished
    assert [event.reason for event in blocked.events] == ["DeletionBlocked"]
    released = await harness.engine.finalize(ALERT, harness.kube.resources[("AlertPolicy", NS, name)])
    assert released.finished
    assert [event.reason for event in released.events] == ["Orphaned"]
    assert (await harness.api.get("alert-policies", f"{NS}.{name}")).manager is None


async def test_connection_secret_is_created_owned_and_never_taken_over(
    harness: Harness, request: pytest.FixtureRequest
) -> None:
    name = unique(request)
    spec = {"type": "events-api", "writeConnectionSecretToRef": {"name": f"{name}-conn"}}
    body = harness.kube.add(INTEGRATION, NS, name, spec)
    await harness.reconcile(INTEGRATION, name)
    secret = harness.kube.secrets[(NS, f"{name}-conn")]
    assert secret["controller"] == body["metadata"]["uid"]
    assert set(secret["data"]) == {"webhookURL", "webhookToken", "integrationKey"}
    writes = harness.kube.writes
    assert (await harness.reconcile(INTEGRATION, name)).status_patch == {}
    assert harness.kube.writes == writes, "an in-sync pass does not rewrite the connection Secret"

    harness.kube.put_secret(NS, f"{name}-theirs", {"password": "keep-me"})
    harness.kube.add(INTEGRATION, NS, f"{name}-2", {**spec, "writeConnectionSecretToRef": {"name": f"{name}-theirs"}})
    refused = await harness.reconcile(INTEGRATION, f"{name}-2")
    assert "ConnectionSecretConflict" in [event.reason for event in refused.events]
    assert harness.condition(INTEGRATION, f"{name}-2", "Ready") == ("False", "ConnectionSecretConflict")
    assert harness.kube.secrets[(NS, f"{name}-theirs")]["data"] == {"password": "keep-me"}
    assert harness.kube.secrets[(NS, f"{name}-theirs")]["controller"] is None


async def test_credentials_are_versioned_by_secret_not_hashed(harness: Harness, request: pytest.FixtureRequest) -> None:
    name = unique(request)
    harness.kube.add(
        INTEGRATION,
        NS,
        name,
        {"type": "grafana", "credentials": {"hmacSecret": {"secretKeyRef": {"name": f"{name}-s", "key": "k"}}}},
    )
    await harness.reconcile(INTEGRATION, name)
    assert harness.condition(INTEGRATION, name, "ReferencesResolved") == ("False", "SecretNotFound")
    harness.kube.put_secret(NS, f"{name}-s", {"k": "first-value"})
    await harness.reconcile(INTEGRATION, name)
    status: dict[str, Any] = harness.kube.resources[("Integration", NS, name)]["status"]
    first = dict(status["credentialsSecretVersions"])
    assert "first-value" not in repr(status)
    assert (await harness.reconcile(INTEGRATION, name)).events == []
    harness.kube.put_secret(NS, f"{name}-s", {"k": "second-value"})
    rotated = await harness.reconcile(INTEGRATION, name)
    assert [event.reason for event in rotated.events] == ["Updated"]
    assert harness.kube.resources[("Integration", NS, name)]["status"]["credentialsSecretVersions"] != first


async def test_one_drift_pass_lists_once_writes_nothing_in_sync_and_corrects_drift(
    harness: Harness, request: pytest.FixtureRequest
) -> None:
    name = unique(request)
    namespace = f"{NS}-{name}"[:63]
    for index in range(30):
        body = harness.kube.add(ALERT, namespace, f"p{index}", POLICY)
        outcome = await harness.engine.reconcile(ALERT, body, mode=Mode.CHANGE)
        harness.kube.apply(ALERT, namespace, f"p{index}", outcome)
    gets_before, lists_before = harness.api_calls("get"), harness.api_calls("list")
    loop = DriftLoop(
        harness.engine, harness.kube, [ALERT], namespaces=[namespace], interval=60, gate=asyncio.Semaphore(4)
    )
    assert await loop.run_once() == 30
    assert harness.kube.status_patches == 0
    assert harness.kube.events == []
    assert harness.api_calls("get") == gets_before, "a drift pass reads the bulk listing, not one GET per object"
    assert harness.api_calls("list") == lists_before + 1

    current = await harness.api.get("alert-policies", f"{namespace}.p7")
    await harness.api.put(
        "alert-policies",
        current.name,
        {**current.spec, "severity": "info"},
        manager=current.manager,
        if_match=current.etag,
    )
    await loop.run_once()
    assert [(who, event.reason) for who, event in harness.kube.events] == [("p7", "Drifted")]
    assert harness.kube.status_patches == 1
    assert (await harness.api.get("alert-policies", f"{namespace}.p7")).spec["severity"] == "critical"
