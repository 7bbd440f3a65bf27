"""`signalcraft webhook`: the in-cluster ingestion webhook and its forwarder."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click
import uvicorn

from signalcraft.api import SignalCraftClient
from signalcraft.ingest.app import WebhookConfig, create_webhook_app
from signalcraft.ingest.config import ConfigError, Integration, checked, load_integrations, secret
from signalcraft.ingest.forwarder import Forwarder
from signalcraft.ingest.metrics import WebhookMetrics
from signalcraft.ingest.sources.cloudwatch import AWS_SNS_HOST, SnsSettings
from signalcraft.ingest.sources.registry import ALERT_SOURCE_NAMES
from signalcraft.ingest.spool import DEFAULT_CAPACITY_BYTES, Spool, connect, list_dead_letters, retry_dead_letters

FILE = click.Path(dir_okay=False, path_type=Path)
TOKEN_ENV = "SIGNALCRAFT_WEBHOOK_TOKEN"  # noqa: S105 - the variable's name, not a token
SWITCH_INTERVAL = 0.001
"""Seconds a thread waiting for the GIL waits before the running one must hand it over (see `webhook`)."""


@click.group("webhook", invoke_without_command=True)
@click.option("--api-url", envvar="SIGNALCRAFT_API_URL", default=None, help="SignalCraft API base URL (required).")
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
    "--spool-capacity-bytes",
    type=int,
    default=DEFAULT_CAPACITY_BYTES,
    show_default=True,
    help="Bytes of waiting entries before answering 503 (keep it below the volume's size).",
)
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
@click.pass_context
def webhook(  # noqa: PLR0917 - click passes every option
    ctx: click.Context,
    api_url: str | None,
    api_key_file: Path | None,
    integration: str | None,
    config_file: Path | None,
    spool_path: Path,
    spool_capacity: int,
    spool_capacity_bytes: int,
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
    Paths: POST /alertmanager and POST /api/v1/webhooks/<source>. `signalcraft webhook dead-letters --help` inspects
    and retries what the API refused.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not api_url:
        raise click.UsageError("--api-url (or SIGNALCRAFT_API_URL) is required")
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

    spool = Spool(
        spool_path, capacity=spool_capacity, capacity_bytes=spool_capacity_bytes, group_commit=not no_group_commit
    )
    app = create_webhook_app(config, spool, None if no_forward else connect)
    # The spool's SQLite calls run in threads and take the GIL back after every statement; while the event loop is
    # busy parsing requests each take waits up to one switch interval (5 ms by default), and every waiting request's
    # answer with it. A shorter interval bounds that wait; it costs nothing while no other thread wants the GIL.
    sys.setswitchinterval(SWITCH_INTERVAL)
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


SPOOL = click.option(
    "--spool",
    "spool_path",
    envvar="SIGNALCRAFT_SPOOL",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=Path("/var/lib/signalcraft/spool.db"),
    show_default=True,
)


@webhook.group("dead-letters")
def dead_letters() -> None:
    """Spool entries the API refused for good (400/413/422): list them, retry them once the cause is fixed.

    Safe while the webhook runs (SQLite WAL); in a pod: `kubectl exec <webhook-pod> -- signalcraft webhook
    dead-letters list`.
    """


@dead_letters.command("list")
@SPOOL
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_command(spool_path: Path, as_json: bool) -> None:
    """Every dead letter, oldest first: key, when, how many alerts, and the API's reason."""
    db = connect(spool_path)
    try:
        letters = list_dead_letters(db)
    finally:
        db.close()
    for letter in letters:
        when = datetime.fromtimestamp(letter.created_at, UTC).isoformat(timespec="seconds")
        if as_json:
            click.echo(json.dumps({"key": letter.key, "at": when, "events": letter.events, "reason": letter.reason}))
        else:
            click.echo(f"{letter.key}\t{when}\t{letter.events} alerts\t{letter.reason}")
    if not as_json:
        click.echo(f"{len(letters)} dead letters", err=True)


@dead_letters.command("retry")
@SPOOL
@click.argument("keys", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Retry every dead letter.")
def retry_command(spool_path: Path, keys: tuple[str, ...], everything: bool) -> None:
    """Put dead letters (by KEY, or --all) back at the end of the spool; the forwarder delivers them again."""
    if bool(keys) == everything:
        raise click.UsageError("give the keys to retry, or --all")
    db = connect(spool_path)
    try:
        moved = retry_dead_letters(db, None if everything else keys)
    finally:
        db.close()
    click.echo(f"{moved} dead letters back in the spool")
    if keys and moved < len(keys):
        raise click.ClickException(f"{len(keys) - moved} of the keys are not dead letters")


@webhook.command("drain")
@SPOOL
@click.option("--api-url", envvar="SIGNALCRAFT_API_URL", required=True, help="SignalCraft API base URL.")
@click.option("--api-key-file", envvar="SIGNALCRAFT_API_KEY_FILE", type=FILE, required=True)
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Give up (exit 1) after this long.")
def drain_command(spool_path: Path, api_url: str, api_key_file: Path, timeout: float) -> None:
    """Deliver every entry of a spool no webhook serves any more (a replica scaled away), then exit.

    Entries go in order with their idempotency keys, exactly as the webhook's forwarder sends them; exits 0 once the
    spool is empty (dead letters stay, see `dead-letters`), 1 if it is not empty after --timeout seconds.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    key = secret(api_key_file)
    left = asyncio.run(_drain(spool_path, lambda: SignalCraftClient(api_url, key.get() or "", max_retries=0), timeout))
    if left:
        raise click.ClickException(f"{left} entries are still in the spool after {timeout:.0f}s")
    click.echo("the spool is empty")


async def _drain(spool_path: Path, connect: Callable[[], SignalCraftClient], give_up_after: float) -> int:
    spool = Spool(spool_path)
    await spool.open()
    forwarder = Forwarder(spool, connect, WebhookMetrics())
    task = asyncio.create_task(forwarder.run())
    try:
        async with asyncio.timeout(give_up_after):
            while (await spool.due(1, payloads=False)) and not task.done():
                await spool.wait_for_append(0.2)
    except TimeoutError:
        pass
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        left = len(await spool.due(1_000_000, payloads=False))
        await spool.close()
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise click.ClickException(f"the forwarder failed: {type(task.exception()).__name__}")
    return left
