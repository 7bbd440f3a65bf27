"""The Python client against the live server: every method round-trips through the real API and its models, and the
server's errors arrive as the documented exceptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.contract.helpers import ESCALATION, unique
from tests.support.api_server import ApiServer

from signalcraft.api import Manager, ManagerSource, SignalCraftClient, errors
from signalcraft.api.alerts import AlertEvent, AlertStatus


async def test_resources_round_trip(api: ApiServer) -> None:
    name = unique("esc")
    manager = Manager(identity=f"k8s://client/{name}", uid="u-1", source=ManagerSource(checksum="abc", generation=2))
    async with SignalCraftClient(api.url, api.admin_key) as client:
        dry = await client.put("escalation-policies", name, ESCALATION, manager=manager, dry_run=True)
        assert dry.created
        with pytest.raises(errors.NotFoundError):
            await client.get("escalation-policies", name)
        created = await client.put("escalation-policies", name, ESCALATION, manager=manager, labels={"team": "db"})
        assert created.created
        assert created.resource.etag == '"1"'
        assert created.resource.manager == manager
        again = await client.put("escalation-policies", name, ESCALATION, manager=manager, labels={"team": "db"})
        assert not again.created
        assert again.resource == created.resource, "an identical PUT changes nothing"
        with pytest.raises(errors.PreconditionFailedError):
            await client.put("escalation-policies", name, ESCALATION, manager=manager, create_only=True)
        with pytest.raises(errors.ConflictError) as conflict:
            await client.put("escalation-policies", name, ESCALATION, manager=Manager(identity="k8s://other"))
        assert conflict.value.current_manager == manager.identity
        listed = [item async for item in client.list("escalation-policies", manager_identity="k8s://client/*")]
        assert created.resource in listed
        selected = [item async for item in client.list("escalation-policies", label_selector="team=db", page_size=1)]
        assert name in [item.name for item in selected]
        released = await client.release("escalation-policies", name, identity=manager.identity)
        assert released.manager is None
        await client.delete("escalation-policies", name, if_match=released.etag)
        with pytest.raises(errors.NotFoundError):
            await client.delete("escalation-policies", name)


async def test_integrations_alert_events_and_groups(api: ApiServer) -> None:
    name = unique("am")
    async with SignalCraftClient(api.url, api.admin_key) as client:
        await client.put("integrations", name, {"type": "alertmanager"}, credentials={"basic_password": "pw"})
        connection = await client.integration_connection(name)
        assert connection.webhook_url.endswith(connection.webhook_token)
        event = AlertEvent(
            source="alertmanager",
            integration=name,
            group_key="g",
            dedup_key="a",
            status="firing",
            summary="db down",
            occurred_at=datetime.now(UTC),
        )
        accepted = await client.post_alert_events([event], idempotency_key=unique("batch"))
        assert accepted.accepted == 1
        (group,) = [group async for group in client.list_alert_groups(integration=name)]
        assert accepted.alert_groups == [group.id]
        assert group.status is AlertStatus.FIRING
        (alert,) = await client.alerts(group.id)
        assert alert.summary == "db down"
        assert (await client.acknowledge_alert_group(group.id)).status is AlertStatus.ACKNOWLEDGED
        assert (await client.resolve_alert_group(group.id)).status is AlertStatus.RESOLVED
        assert (await client.get_alert_group(group.id)).resolved_at
        sent = await client.send_event(
            {
                "routing_key": connection.integration_key,
                "event_action": "trigger",
                "payload": {"summary": "via the Events API", "source": "db-1", "severity": "info"},
            }
        )
        assert sent.status == "success"
        assert sent.event_id
        with pytest.raises(errors.ValidationError) as invalid:
            await client.send_event({"routing_key": "nobody", "event_action": "trigger"})
        assert [error.pointer for error in invalid.value.errors] == ["/payload"]


async def test_service_accounts_and_keys(api: ApiServer) -> None:
    account = unique("sa")
    async with SignalCraftClient(api.url, api.admin_key) as admin:
        created = await admin.create_service_account(account, description="CI")
        assert (await admin.get_service_account(account)) == created
        expires = datetime.now(UTC) + timedelta(days=30)
        key = await admin.create_api_key(account, ["teams:read"], name="ci", expires_at=expires)
        assert key.key is not None
        assert key.key.startswith(key.prefix)
        assert [item.id for item in await admin.list_api_keys(account)] == [key.id]
        team = unique("team")
        await admin.put("teams", team, {})
        async with SignalCraftClient(api.url, key.key) as limited:
            assert (await limited.get("teams", team)).name == team
            with pytest.raises(errors.PermissionDeniedError):
                await limited.put("teams", unique("team"), {})
            assert (await admin.revoke_api_key(key.id)).revoked_at
            with pytest.raises(errors.AuthenticationError) as refused:
                await limited.get("teams", "anything")
            assert key.key not in str(refused.value)
