"""`signalcraft webhook`: the in-cluster ingestion webhook and its forwarder."""

from __future__ import annotations

from pathlib import Path

import click
import uvicorn

from signalcraft.api import SignalCraftClient
from signalcraft.ingest.app import WebhookConfig, create_webhook_app
from signalcraft.ingest.sources.base import IntegrationCredentials
from signalcraft.ingest.spool import Spool


def _read(path: Path | None) -> str | None:
    return path.read_text().strip() if path is not None else None


@click.command("webhook")
@click.option("--api-url", envvar="SIGNALCRAFT_API_URL", required=True, help="SignalCraft API base URL.")
@click.option(
    "--api-key-file", envvar="SIGNALCRAFT_API_KEY_FILE", type=click.Path(dir_okay=False, path_type=Path), required=True
)
@click.option(
    "--integration", envvar="SIGNALCRAFT_INTEGRATION", required=True, help="Integration the alerts belong to."
)
@click.option(
    "--spool",
    "spool_path",
    envvar="SIGNALCRAFT_SPOOL",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("/var/lib/signalcraft/spool.db"),
    show_default=True,
)
@click.option("--spool-capacity", type=int, default=100_000, show_default=True, help="Entries before answering 503.")
@click.option(
    "--token-file",
    envvar="SIGNALCRAFT_WEBHOOK_TOKEN_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Bearer / ?token= senders must present.",
)
@click.option(
    "--basic-auth-file",
    envvar="SIGNALCRAFT_WEBHOOK_BASIC_AUTH_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File with user:password for Basic auth.",
)
@click.option(
    "--cluster-name", envvar="SIGNALCRAFT_CLUSTER_NAME", default="", help="Added to every alert as label k8s_cluster."
)
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - in-cluster service
@click.option("--port", type=int, default=8090, show_default=True)
@click.option("--no-group-commit", is_flag=True, help="One fsync per request (for benchmarks only).")
def webhook(  # noqa: PLR0917 - click passes every option
    api_url: str,
    api_key_file: Path,
    integration: str,
    spool_path: Path,
    spool_capacity: int,
    token_file: Path | None,
    basic_auth_file: Path | None,
    cluster_name: str,
    host: str,
    port: int,
    no_group_commit: bool,
) -> None:
    """Receive Alertmanager (and other sources) in-cluster, spool durably, forward to SignalCraft."""
    user, _, password = (_read(basic_auth_file) or "").partition(":")
    credentials = IntegrationCredentials(
        token=_read(token_file), basic_username=user or None, basic_password=password or None
    )
    if credentials.token is None and credentials.basic_password is None:
        raise click.UsageError("configure --token-file and/or --basic-auth-file: the webhook never runs open")
    config = WebhookConfig(integration=integration, credentials=credentials, cluster_name=cluster_name)
    api = SignalCraftClient(api_url, _read(api_key_file) or "", max_retries=0)
    spool = Spool(spool_path, capacity=spool_capacity, group_commit=not no_group_commit)
    uvicorn.run(create_webhook_app(config, spool, api), host=host, port=port, log_level="warning", access_log=False)
