"""`signalcraft api`: run the API v1 server, bootstrap its first admin key, export its OpenAPI document."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
import uvicorn

from signalcraft.ingest.sources.cloudwatch import AWS_SNS_HOST, SnsSettings
from signalcraft.server.app import create_app
from signalcraft.server.atlassian import OAuthApp
from signalcraft.server.auth import create_service_account, issue_key
from signalcraft.server.storage import open_storage

db_option = click.option(
    "--db",
    "database",
    envvar="SIGNALCRAFT_DB",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("signalcraft.db"),
    show_default=True,
    help="SQLite database file (created and migrated automatically); unused with --database-url.",
)
database_url_option = click.option(
    "--database-url",
    envvar="SIGNALCRAFT_DATABASE_URL",
    default=None,
    help="PostgreSQL instead of SQLite: postgresql://user:password@host:port/database (migrated automatically). "
    "Several API servers may share one database.",
)


@click.group("api", invoke_without_command=True)
@db_option
@database_url_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--public-url", envvar="SIGNALCRAFT_PUBLIC_URL", default=None, help="Base URL put in webhook URLs.")
@click.option("--rate-limit", type=float, default=200.0, show_default=True, help="Requests/s per service account.")
@click.option(
    "--events-rate-limit", type=float, default=100.0, show_default=True, help="Events API requests/s per routing key."
)
@click.option(
    "--busy-timeout",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds to wait for another process's database lock before answering 503.",
)
@click.option(
    "--sns-cert-host-pattern",
    default=AWS_SNS_HOST,
    show_default=True,
    help="Regular expression an SNS SigningCertURL host must match.",
)
@click.option("--sns-ca-bundle", default=None, help="CA file for SNS certificate and SubscribeURL fetches.")
@click.option(
    "--unknown-key-rate-limit",
    type=float,
    default=10.0,
    show_default=True,
    help="Events API requests per minute and client address for routing keys that do not exist (then 429).",
)
@click.option(
    "--stall-seconds",
    type=float,
    default=120.0,
    show_default=True,
    help="/healthz fails once a background task (the ticket worker) made no progress for this long.",
)
@click.option(
    "--jira-oauth-client-id",
    envvar="SIGNALCRAFT_JIRA_OAUTH_CLIENT_ID",
    default=None,
    help="Atlassian OAuth 2.0 app id.",
)
@click.option(
    "--jira-oauth-client-secret-file",
    envvar="SIGNALCRAFT_JIRA_OAUTH_CLIENT_SECRET_FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File holding the OAuth app's secret (a mounted Secret; never a flag value).",
)
@click.option("--atlassian-auth-url", default="https://auth.atlassian.com", show_default=True, hidden=True)
@click.option("--atlassian-api-url", default="https://api.atlassian.com", show_default=True, hidden=True)
@click.pass_context
def api(  # noqa: PLR0917 - click passes every option
    ctx: click.Context,
    database: Path,
    database_url: str | None,
    host: str,
    port: int,
    public_url: str | None,
    rate_limit: float,
    events_rate_limit: float,
    busy_timeout: float,
    sns_cert_host_pattern: str,
    sns_ca_bundle: str | None,
    unknown_key_rate_limit: float,
    stall_seconds: float,
    jira_oauth_client_id: str | None,
    jira_oauth_client_secret_file: Path | None,
    atlassian_auth_url: str,
    atlassian_api_url: str,
) -> None:
    """Run the SignalCraft API v1 server (the default) or one of the subcommands."""
    if ctx.invoked_subcommand is not None:
        return
    sns = SnsSettings(cert_host_pattern=sns_cert_host_pattern, ca_bundle=sns_ca_bundle)
    app = create_app(
        database,
        database_url=database_url,
        public_url=public_url,
        rate_per_second=rate_limit,
        burst=2 * rate_limit,
        events_per_second=events_rate_limit,
        busy_timeout=busy_timeout,
        sns=sns,
        stall_seconds=stall_seconds,
        unknown_keys_per_minute=unknown_key_rate_limit,
        jira_oauth=OAuthApp(
            jira_oauth_client_id,
            jira_oauth_client_secret_file.read_text().strip(),
            auth_url=atlassian_auth_url,
            api_url=atlassian_api_url,
        )
        if jira_oauth_client_id and jira_oauth_client_secret_file
        else None,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@api.command()
@db_option
@database_url_option
@click.option("--name", default="admin", show_default=True, help="Name of the service account.")
def bootstrap(database: Path, database_url: str | None, name: str) -> None:
    """Create the admin service account (if missing) and print a new admin API key — the only time it is shown."""

    async def run() -> str:
        db = open_storage(database, database_url=database_url)
        await db.open()
        try:
            row = await db.accounts.by_name(name)
            account_id = row["id"] if row is not None else await create_service_account(db, name, "bootstrap admin")
            _, key = await issue_key(db, account_id, ["*"], name="bootstrap")
            return key
        finally:
            await db.close()

    click.echo(asyncio.run(run()))


@api.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def openapi(output: Path | None) -> None:
    """Print (or write) the OpenAPI document of API v1."""
    document = json.dumps(create_app(Path(":memory:")).openapi(), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(document, nl=False)
    else:
        output.write_text(document)


@api.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def limits(output: Path | None) -> None:
    """Print (or write) the enums, bounds and defaults of the API's fields (what other clients validate against)."""
    from signalcraft.api.constraints import contract_document

    if output is None:
        click.echo(contract_document(), nl=False)
    else:
        output.write_text(contract_document())
