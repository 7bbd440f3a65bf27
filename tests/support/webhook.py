"""The in-cluster webhook and a real Alertmanager as processes."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.support.api_server import ApiServer
from tests.support.processes import Program, free_port, wait_until

from signalcraft.devcluster import binaries


@dataclass
class WebhookProcess:
    program: Program
    port: int
    token: str
    spool: Path
    argv: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restart(self) -> None:
        self.program.stop()
        self.program = Program(self.argv, self.program.log_path).start()
        wait_until(self.healthy, timeout=30, what="the webhook after a restart")

    def healthy(self) -> bool:
        assert self.program.running, f"the webhook exited:\n{self.program.log()[-3000:]}"
        return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples of `name` (with these label values) on the webhook's /metrics."""
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items())
        )

    def post(self, body: dict[str, Any], path: str = "/alertmanager") -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


def start_webhook(
    api: ApiServer,
    workdir: Path,
    integration: str,
    *,
    capacity: int = 100_000,
    api_url: str | None = None,
    api_key: str | None = None,
    extra_args: Sequence[str] = (),
) -> WebhookProcess:
    """A `signalcraft webhook` forwarding to `api` (or to `api_url`, e.g. a fault-injecting proxy in front of it).

    Its API key is in `<workdir>/api.key` (a new events:write key unless `api_key` is given).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    key_file, token_file = workdir / "api.key", workdir / "token"
    key_file.write_text(api_key if api_key is not None else api.create_key(f"webhook-{integration}", ["events:write"]))
    token = f"tok-{integration}"
    token_file.write_text(token)
    port = free_port()
    argv = [
        *("webhook", "--api-url", api_url or api.url, "--api-key-file", str(key_file), "--integration", integration),
        *("--spool", str(workdir / "spool.db"), "--spool-capacity", str(capacity), "--token-file", str(token_file)),
        *("--cluster-name", "e2e", "--host", "127.0.0.1", "--port", str(port), *extra_args),
    ]
    running = WebhookProcess(Program(argv, workdir / "webhook.log").start(), port, token, workdir / "spool.db", argv)
    wait_until(running.healthy, timeout=30, what="the webhook")
    return running


@contextmanager
def running_webhook(api: ApiServer, workdir: Path, integration: str, **options: Any) -> Iterator[WebhookProcess]:
    running = start_webhook(api, workdir, integration, **options)
    try:
        yield running
    finally:
        running.program.stop()


@dataclass
class Alertmanager:
    program: Program
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fire(self, *alerts: dict[str, Any]) -> None:
        httpx.post(f"{self.url}/api/v2/alerts", json=list(alerts), timeout=10).raise_for_status()

    def resolve(self, *alerts: dict[str, Any]) -> None:
        now = datetime.now(UTC).isoformat()
        self.fire(*({**alert, "endsAt": now} for alert in alerts))


class Receiver(Protocol):
    """Where Alertmanager sends its notifications (`/alertmanager` below `url`, with `token` as Bearer)."""

    @property
    def url(self) -> str: ...

    @property
    def token(self) -> str: ...


@contextmanager
def running_alertmanager(workdir: Path, webhook: Receiver) -> Iterator[Alertmanager]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "token").write_text(webhook.token)
    config = {
        "route": {
            "receiver": "signalcraft",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "signalcraft",
                "webhook_configs": [
                    {
                        "url": f"{webhook.url}/alertmanager",
                        "send_resolved": True,
                        "timeout": "5s",
                        "http_config": {
                            "authorization": {"type": "Bearer", "credentials_file": str(workdir / "token")}
                        },
                    }
                ],
            }
        ],
    }
    (workdir / "am.yml").write_text(json.dumps(config))
    port = free_port()
    binary = binaries.ensure("alertmanager")
    program = Program(
        [
            f"--config.file={workdir / 'am.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        workdir / "alertmanager.log",
        executable=str(binary),
    ).start()
    manager = Alertmanager(program, port)
    wait_until(
        lambda: httpx.get(f"{manager.url}/-/ready", timeout=2).status_code == 200, timeout=30, what="Alertmanager"
    )
    try:
        yield manager
    finally:
        program.stop()
