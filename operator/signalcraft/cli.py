"""`signalcraft` command line: one entry point, one subcommand per program, imported only when used."""

from __future__ import annotations

import importlib

import click

# Each program owns its command; importing them lazily keeps `signalcraft dev-cluster` from loading FastAPI or kopf.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "api": ("signalcraft.server.cli", "api", "Run the SignalCraft API v1 server (and bootstrap it)."),
    "operator": ("signalcraft.controllers.cli", "operator", "Run the kopf operator that syncs CRs to the API."),
    "webhook": ("signalcraft.ingest.cli", "webhook", "Run the in-cluster ingestion webhook and its forwarder."),
    "dev-cluster": ("signalcraft.devcluster.cli", "dev_cluster", "Local kube-apiserver + etcd built from source."),
    "crds": ("signalcraft.crds", "crds_command", "Print or write the CustomResourceDefinitions."),
    "demo": ("signalcraft.demo", "demo", "Run the whole stack locally with the samples applied."),
    "plan": ("signalcraft.plan", "plan_command", "Show what applying CR manifests would change in SignalCraft."),
    "export": ("signalcraft.plan", "export_command", "Write CRs that adopt SignalCraft objects nobody manages."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command = getattr(module, entry[1])
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry[0]}.{entry[1]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, _COMMANDS[name][2]) for name in sorted(_COMMANDS)])


@click.group(
    cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "SIGNALCRAFT"}
)
@click.version_option(package_name="signalcraft-operator")
def main() -> None:
    """SignalCraft from Kubernetes and Git."""


if __name__ == "__main__":
    main()
