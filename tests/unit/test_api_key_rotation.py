"""A rotated API key file is picked up on the next 401, without a restart (real API server, in-process)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.support.api_server import bootstrap

from signalcraft.api import SignalCraftClient
from signalcraft.api import errors as api_errors
from signalcraft.server.app import create_app


async def test_key_file_is_read_again_after_401(tmp_path: Path) -> None:
    db = tmp_path / "signalcraft.db"
    admin_key = bootstrap(db)
    app = create_app(db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with SignalCraftClient("http://signalcraft.test", admin_key, transport=transport) as admin:
            await admin.create_service_account("operator")
            first = await admin.create_api_key("operator", ["alert_policies:read"])
            assert first.key is not None
            key_file = tmp_path / "api-key"
            key_file.write_text(first.key + "\n")
            async with SignalCraftClient(
                "http://signalcraft.test", first.key, transport=transport, api_key_file=key_file
            ) as operator:
                assert [item async for item in operator.list("alert-policies")] == []
                # Rotation as a Secret update does it: a new key in the mounted file, the old one revoked.
                second = await admin.create_api_key("operator", ["alert_policies:read"])
                assert second.key is not None
                key_file.write_text(second.key + "\n")
                await admin.revoke_api_key(first.id)
                assert [item async for item in operator.list("alert-policies")] == []
                # A file that still holds a refused key is not retried in a loop: the 401 is raised.
                await admin.revoke_api_key(second.id)
                with pytest.raises(api_errors.AuthenticationError):
                    await operator.get("alert-policies", "anything")
