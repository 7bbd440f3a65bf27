"""The in-cluster webhook with real processes: a real Alertmanager → webhook → durable spool → forwarder → API.

Also the reliability promises: an API outage only delays delivery; kill -9 of the webhook loses nothing it
acknowledged; a full spool answers 503 so the sender retries.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.api_server import ApiServer, running_api_server
from tests.support.faults import throttling_proxy
from tests.support.processes import wait_until
from tests.support.webhook import running_alertmanager, running_webhook, start_webhook

pytestmark = pytest.mark.e2e


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with running_api_server(tmp_path / "api") as server:
        yield server


def groups(api: ApiServer, integration: str) -> list[dict[str, Any]]:
    with api.client() as client:
        found: list[dict[str, Any]] = client.get(
            "/v1/alert-groups", params={"integration": integration, "limit": "500"}
        ).json()["items"]
        return found


def alerts_of(api: ApiServer, group_id: str) -> list[dict[str, Any]]:
    with api.client() as client:
        found: list[dict[str, Any]] = client.get(f"/v1/alert-groups/{group_id}/alerts").json()
        return found


def am_body(name: str, *, status: str = "firing", group: str | None = None) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": group or f'{{}}:{{alertname="{name}"}}',
        "status": status,
        "receiver": "signalcraft",
        "alerts": [{"status": status, "labels": {"alertname": name, "severity": "critical"}, "annotations": {}}],
    }


def test_real_alertmanager_alerts_become_groups_and_resolve(api: ApiServer, tmp_path: Path) -> None:
    with (
        running_webhook(api, tmp_path / "webhook", "cluster-am") as webhook,
        running_alertmanager(tmp_path / "am", webhook) as alertmanager,
    ):
        disk = {
            "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-1"},
            "annotations": {"summary": "95% full"},
        }
        disk2 = {
            "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-2"},
            "annotations": {"summary": "97% full"},
        }
        alertmanager.fire(disk, disk2)

        def grouped() -> list[dict[str, Any]] | None:
            found = groups(api, "cluster-am")
            return found if found and found[0]["alert_count"] == 2 else None

        group = wait_until(grouped, timeout=60, what="the DiskFull group with two alerts")
        assert isinstance(group, list)
        assert group[0]["status"] == "firing"
        assert group[0]["severity"] == "critical"
        assert group[0]["group_key"] == '{}:{alertname="DiskFull"}'
        stored = alerts_of(api, group[0]["id"])
        assert sorted(alert["labels"]["instance"] for alert in stored) == ["db-1", "db-2"]
        assert all(alert["labels"]["k8s_cluster"] == "e2e" for alert in stored), "cluster context is added"

        alertmanager.resolve(disk, disk2)
        wait_until(
            lambda: groups(api, "cluster-am")[0]["status"] == "resolved", timeout=60, what="the group to resolve"
        )
        assert webhook.metric("signalcraft_webhook_delivered_total") >= 2


def test_api_outage_alertmanager_alerts_spool_and_drain(api: ApiServer, tmp_path: Path) -> None:
    with (
        running_webhook(api, tmp_path / "webhook", "outage") as webhook,
        running_alertmanager(tmp_path / "am", webhook) as alertmanager,
    ):
        api.stop()
        alerts = [{"labels": {"alertname": f"Outage{index}", "severity": "warning"}} for index in range(10)]
        alertmanager.fire(*alerts)
        wait_until(
            lambda: webhook.metric("signalcraft_webhook_received_total") >= 10,
            timeout=60,
            what="Alertmanager's ten groups acknowledged while the API is down",
        )
        wait_until(
            lambda: webhook.metric("signalcraft_webhook_delivery_failures_total", kind="transient") >= 1,
            timeout=30,
            what="a failed delivery",
        )
        assert webhook.metric("signalcraft_webhook_spool_depth") == 10
        api.start()

        def all_ten() -> list[dict[str, Any]] | None:
            found = groups(api, "outage")
            return found if len(found) == 10 else None

        found = wait_until(all_ten, timeout=120, interval=0.5, what="the spool to drain")
        assert isinstance(found, list)
        assert sorted(group["group_key"] for group in found) == sorted(
            f'{{}}:{{alertname="Outage{index}"}}' for index in range(10)
        )
        wait_until(lambda: webhook.metric("signalcraft_webhook_spool_depth") == 0, timeout=30, what="an empty spool")


def test_real_alertmanager_retries_a_503_until_the_spool_has_room(api: ApiServer, tmp_path: Path) -> None:
    with (
        running_webhook(api, tmp_path / "webhook", "retried", capacity=1) as webhook,
        running_alertmanager(tmp_path / "am", webhook) as alertmanager,
    ):
        api.stop()
        alertmanager.fire({"labels": {"alertname": "First", "severity": "critical"}})
        wait_until(lambda: webhook.metric("signalcraft_webhook_spool_depth") == 1, timeout=30, what="First spooled")
        alertmanager.fire({"labels": {"alertname": "Second", "severity": "critical"}})
        wait_until(
            lambda: webhook.metric("signalcraft_webhook_rejected_total", reason="spool-full") >= 1,
            timeout=30,
            what="Second refused with 503 while the spool is full",
        )
        api.start()

        def both() -> set[str] | None:
            keys = {group["group_key"] for group in groups(api, "retried")}
            return keys if len(keys) == 2 else None

        keys = wait_until(both, timeout=120, interval=0.5, what="Alertmanager to retry Second until it was taken")
        assert keys == {'{}:{alertname="First"}', '{}:{alertname="Second"}'}


def test_sigkill_loses_nothing_that_was_acknowledged(api: ApiServer, tmp_path: Path) -> None:
    webhook = start_webhook(api, tmp_path / "webhook", "crash")
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(offset: int) -> None:
        for index in range(offset, 10_000, 4):
            if stop.is_set():
                return
            name = f"Crash{index}"
            try:
                response = webhook.post(am_body(name))
            except httpx.HTTPError:
                return
            if response.status_code == 202:
                with lock:
                    acknowledged.append(name)

    threads = [threading.Thread(target=sender, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acknowledged) >= 150, timeout=60, interval=0.05, what="a load of acknowledged alerts")
    webhook.program.kill()
    stop.set()
    for thread in threads:
        thread.join(30)
    assert acknowledged, "nothing was acknowledged before the kill"
    webhook.program = type(webhook.program)(webhook.argv, webhook.program.log_path).start()
    wait_until(webhook.healthy, timeout=30, what="the restarted webhook")

    def delivered() -> set[str] | None:
        names = {group["group_key"].split('"')[1] for group in groups(api, "crash")}
        return names if set(acknowledged) <= names else None

    names = wait_until(delivered, timeout=120, interval=0.5, what="every acknowledged alert in the API")
    assert isinstance(names, set)
    found = groups(api, "crash")
    assert len(found) == len({group["group_key"] for group in found}), "no alert group exists twice"
    assert all(group["alert_count"] == 1 for group in found), "redelivery had the effect of once"
    webhook.program.stop()


def test_full_spool_answers_503(api: ApiServer, tmp_path: Path) -> None:
    with running_webhook(api, tmp_path / "webhook", "full", capacity=3) as webhook:
        api.stop()
        assert [webhook.post(am_body(f"Full{index}")).status_code for index in range(3)] == [202, 202, 202]
        refused = webhook.post(am_body("Full3"))
        assert refused.status_code == 503
        assert refused.headers["retry-after"]
        assert refused.json()["code"] == "spool-full"
        bad = webhook.post({"version": "4", "groupKey": "g"})
        assert bad.status_code == 400
        assert "alerts must be a list" in bad.json()["detail"]
        unauthenticated = httpx.post(f"{webhook.url}/alertmanager", json=am_body("x"))
        assert unauthenticated.status_code == 401


def test_forwarder_obeys_retry_after_and_keeps_the_acknowledged_order(api: ApiServer, tmp_path: Path) -> None:
    with throttling_proxy(api.url) as proxy:
        proxy.throttle(times=2, retry_after=2)
        with running_webhook(api, tmp_path / "webhook", "throttled", api_url=proxy.url) as webhook:
            assert webhook.post(am_body("Flap")).status_code == 202
            assert webhook.post(am_body("Flap", status="resolved")).status_code == 202

            def settled() -> list[dict[str, Any]] | None:
                # The spool first: groups read before it could predate the last delivery.
                if webhook.metric("signalcraft_webhook_spool_depth") != 0:
                    return None
                return groups(api, "throttled") or None

            found = wait_until(settled, timeout=60, what="both entries delivered")
            assert isinstance(found, list)
            assert [group["status"] for group in found] == ["resolved"], "the resolve was delivered after the firing"
    posts = [arrival for arrival in proxy.arrivals if arrival.path == "/v1/alert-events"]
    assert [arrival.status for arrival in posts] == [429, 429, 202, 202]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(posts)]
    assert gaps[0] >= 1.9, f"Retry-After: 2 was not obeyed: {gaps}"
    assert gaps[1] >= 1.9, f"Retry-After: 2 was not obeyed: {gaps}"


def test_a_refused_api_key_keeps_every_entry_until_the_key_file_is_fixed(api: ApiServer, tmp_path: Path) -> None:
    with running_webhook(api, tmp_path / "webhook", "rotated", api_key="sc_wrong_key") as webhook:
        for index in range(3):
            assert webhook.post(am_body(f"Rotated{index}")).status_code == 202
        wait_until(
            lambda: webhook.metric("signalcraft_webhook_delivery_failures_total", kind="unauthorized") >= 1,
            timeout=30,
            what="the API refusing the key",
        )
        assert webhook.metric("signalcraft_webhook_spool_depth") == 3, "a refused key never discards alerts"
        (tmp_path / "webhook" / "api.key").write_text(api.create_key("webhook-rotated", ["events:write"]))
        wait_until(lambda: len(groups(api, "rotated")) == 3, timeout=90, interval=0.5, what="delivery with the new key")
        wait_until(lambda: webhook.metric("signalcraft_webhook_spool_depth") == 0, timeout=30, what="an empty spool")
