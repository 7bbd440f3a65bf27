"""What the API server writes to its log, read from the real process's output: a failure names the route's template,
never the raw path (webhook tokens are path segments), and no key, token or credential ever appears in a line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from tests.contract.helpers import problem, unique
from tests.support.api_server import ApiServer, running_api_server
from tests.support.payloads import PAYLOADS
from tests.support.processes import wait_until

FIRING = (PAYLOADS / "alertmanager/alertmanager-bot-firing-v4-nonzero-endsat.json").read_bytes()


@contextmanager
def table_gone(api: ApiServer, table: str) -> Iterator[None]:
    """Another process takes a table away under the running server (a damaged database), and gives it back."""
    api.query(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        yield
    finally:
        api.query(f"ALTER TABLE {table}_away RENAME TO {table}")


def test_a_failing_request_logs_its_route_template_and_no_secret(
    tmp_path: Path, new_database: Callable[[], str | None]
) -> None:
    with running_api_server(tmp_path, database_url=new_database()) as api, api.client() as admin:
        name = unique("am")
        credentials = {"basic_username": "alert-sender", "basic_password": "sender-password-4711"}
        admin.put(
            f"/v1/integrations/{name}", json={"spec": {"type": "alertmanager"}, "credentials": credentials}
        ).raise_for_status()
        connection = admin.get(f"/v1/integrations/{name}/connection").json()
        auth = ("alert-sender", "sender-password-4711")
        with table_gone(api, "alert_groups"):
            failed = httpx.post(connection["webhook_url"], content=FIRING, auth=auth, timeout=10)
            problem(failed, 500, "internal-error")
        assert httpx.post(connection["webhook_url"], content=FIRING, auth=auth, timeout=10).status_code == 202
        request_id = failed.headers["x-request-id"]
        log = wait_until(lambda: request_id in _log(api) and _log(api), timeout=10, what="the failure in the log")
        secrets = [api.admin_key, connection["webhook_token"], connection["integration_key"], *credentials.values()]
    assert isinstance(log, str)
    (line,) = [line for line in log.splitlines() if request_id in line]
    assert "/api/v1/webhooks/{source}/{token}" in line, line
    leaked = [secret for secret in secrets if secret in log]
    assert not leaked, f"secrets in the server's log: {leaked}\n{log}"


def _log(api: ApiServer) -> str:
    assert api.program is not None
    return api.program.log()
