"""`signalcraft webhook`: the in-cluster ingestion webhook and its forwarder."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click
import uvicorn

from signalcraft.api import SignalCraftClient
from signalcraft.ingest.app import WebhookConfig, create_webhook_app
from signalcraft.ingest.config import ConfigError, Integration, checked, load_integrations, secret
from signalcraft.ingest.sources.cloudwatch import AWS_SNS_HOST, SnsSettings
from signalcraft.ingest.sources.registry import ALERT_SOURCE_NAMES
from signalcraft.ingest.spool import Spool

FILE = click.Path(dir_okay=False, path_type=Path)
TOKEN_ENV = "SIGNALCRAFT_WEBHOOK_TOKEN"  # noqa: S105 - the variable's name, not a token


@click.command("webhook")
@click.option("--api-url", envvar="SIGNALCRAFT_API_URL", required=True, help="SignalCraft API base URL.")
@click.option(
    "--api-key-file",
    envvar="SIGNALCRAFT_API_KEY_FILE",
    type=FILE,
    default=None,
    help="File with the API key (scope events:write); re-read when the API refuses it, so rotation needs no restart.",
)
@click.option(
    "--integration",
    envvar="SIGNALCRAFT_INTEGRATION",
    default=None,
    help="Integration the alerts belong to (with --token-file / --basic-auth-file / SIGNALCRAFT_WEBHOOK_TOKEN).",
)
@click.option(
    "--config",
    "config_file",
    envvar="SIGNALCRAFT_WEBHOOK_CONFIG",
    type=FILE,
    default=None,
    help="YAML file listing integrations, each with its sources and credentials (instead of --integration).",
)
@click.option(
    "--spool",
    "spool_path",
    envvar="SIGNALCRAFT_SPOOL",
    type=FILE,
    default=Path("/var/lib/signalcraft/spool.db"),
    show_default=True,
)
@click.option("--spool-capacity", type=int, default=100_000, show_default=True, help="Entries before answering 503.")
@click.option(
    "--token-file",
    envvar="SIGNALCRAFT_WEBHOOK_TOKEN_FILE",
    type=FILE,
    default=None,
    help="Bearer / ?token= senders must present (a mounted Secret).",
)
@click.option(
    "--basic-auth-file",
    envvar="SIGNALCRAFT_WEBHOOK_BASIC_AUTH_FILE",
    type=FILE,
    default=None,
    help="File with user:password for Basic auth.",
)
@click.option(
    "--cluster-name", envvar="SIGNALCRAFT_CLUSTER_NAME", default="", help="Added to every alert as label k8s_cluster."
)
@click.option(
    "--sns-cert-host-pattern",
    default=AWS_SNS_HOST,
    show_default=True,
    help="Hosts SNS signing certificates (and SubscribeURLs) may come from.",
)
@click.option("--sns-ca-bundle", type=FILE, default=None, help="CA file for SNS certificate and SubscribeURL fetches.")
@click.option(
    "--sns-subscribe-url-prefix",
    multiple=True,
    help="Base URL a SubscribeURL must start with to be confirmed (repeatable; default: any SNS host).",
)
@click.option("--sns-topic-arn", multiple=True, help="Accept SNS messages only from these topics (repeatable).")
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - in-cluster service
@click.option("--port", type=int, default=8090, show_default=True)
@click.option("--no-forward", is_flag=True, help="Only spool (another process or a later run delivers).")
@click.option("--no-group-commit", is_flag=True, help="One fsync per request (for benchmarks only).")
@click.option(
    "--stall-seconds",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="/healthz fails when the forwarder made no progress for this long while entries are due.",
)
def webhook(  # noqa: PLR0917 - click passes every option
    api_url: str,
    api_key_file: Path | None,
    integration: str | None,
    config_file: Path | None,
    spool_path: Path,
    spool_capacity: int,
    token_file: Path | None,
    basic_auth_file: Path | None,
    cluster_name: str,
    sns_cert_host_pattern: str,
    sns_ca_bundle: Path | None,
    sns_subscribe_url_prefix: tuple[str, ...],
    sns_topic_arn: tuple[str, ...],
    host: str,
    port: int,
    no_forward: bool,
    no_group_commit: bool,
    stall_seconds: float,
) -> None:
    """Receive Alertmanager (and other sources) in-cluster, spool durably, forward to SignalCraft.

    The API key comes from --api-key-file or SIGNALCRAFT_API_KEY; the senders' token from --token-file or
    SIGNALCRAFT_WEBHOOK_TOKEN (never from the command line, where other processes could read it).
    Paths: POST /alertmanager and POST /api/v1/webhooks/<source>.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        integrations = _integrations(integration, config_file, token_file, basic_auth_file)
        key = secret(api_key_file, None if api_key_file or no_forward else "SIGNALCRAFT_API_KEY")
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    sns = SnsSettings(
        cert_host_pattern=sns_cert_host_pattern,
        ca_bundle=str(sns_ca_bundle) if sns_ca_bundle else None,
        allowed_topic_arns=frozenset(sns_topic_arn),
        subscribe_url_prefixes=sns_subscribe_url_prefix,
    )
    config = WebhookConfig(
        integrations=integrations, cluster_name=cluster_name, sns=sns, stall_after_seconds=stall_seconds
    )

    def connect() -> SignalCraftClient:
        # The forwarder owns retries (in spool order), so the client makes exactly one attempt per call.
        return SignalCraftClient(api_url, key.get() or "", max_retries=0)

    spool = Spool(spool_path, capacity=spool_capacity, group_commit=not no_group_commit)
    app = create_webhook_app(config, spool, None if no_forward else connect)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _integrations(
    name: str | None, config_file: Path | None, token_file: Path | None, basic_auth_file: Path | None
) -> list[Integration]:
    if config_file is not None:
        if name is not None:
            raise ConfigError("give --integration or --config, not both")
        return load_integrations(config_file)
    if name is None:
        raise ConfigError("give --integration (with its credentials) or --config")
    if token_file is not None:
        token = secret(token_file)
    elif os.environ.get(TOKEN_ENV):
        token = secret(env=TOKEN_ENV)
    else:
        token = secret()
    single = Integration(name=name, sources=ALERT_SOURCE_NAMES, token=token, basic_auth=secret(basic_auth_file))
    if basic_auth_file is not None and single.credentials().basic_password is None:
        raise ConfigError(f"{basic_auth_file} must hold user:password")
    return [checked(single)]
