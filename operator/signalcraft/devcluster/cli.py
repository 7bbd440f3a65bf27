"""`signalcraft dev-cluster up|down|status|kubeconfig|build`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from signalcraft.devcluster import binaries
from signalcraft.devcluster.controlplane import ControlPlane, ControlPlaneError, describe_json
from signalcraft.devcluster.paths import default_state_dir


def _say(message: str) -> None:
    click.echo(f"[signalcraft] {message}", err=True)


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_state_dir,
    show_default="~/.cache/signalcraft/run (SIGNALCRAFT_RUN_DIR)",
    help="Directory holding the cluster's pids, certificates, kubeconfig and logs.",
)


@click.group("dev-cluster")
def dev_cluster() -> None:
    """A local kube-apiserver + etcd on loopback, built once from the Go module proxy and cached."""


@dev_cluster.command()
@click.argument("names", nargs=-1, type=click.Choice(binaries.ALL_BINARIES))
def build(names: tuple[str, ...]) -> None:
    """Build (or unpack) and cache the binaries; all of them when none is named."""
    try:
        for name in names or binaries.ALL_BINARIES:
            click.echo(f"{name}\t{binaries.ensure(name, _say)}")
    except binaries.BinaryError as exc:
        raise click.ClickException(str(exc)) from exc


@dev_cluster.command()
@state_dir_option
def up(state_dir: Path) -> None:
    """Start etcd and kube-apiserver (TLS, RBAC) unless they already run; print the kubeconfig path."""
    plane = ControlPlane(state_dir, progress=_say)
    try:
        state, started = plane.up()
    except (ControlPlaneError, binaries.BinaryError) as exc:
        raise click.ClickException(str(exc)) from exc
    if started:
        _say(f"control plane ready at {state.server}")
    else:
        _say(
            f"control plane already running at {state.server} (etcd pid {state.etcd.pid}, "
            f"kube-apiserver pid {state.apiserver.pid}); not starting another"
        )
    _say(f"use it with: export KUBECONFIG={state.kubeconfig}")
    click.echo(state.kubeconfig)


@dev_cluster.command()
@state_dir_option
def down(state_dir: Path) -> None:
    """Stop the processes `up` started (by pid, never by name) and remove their state."""
    if ControlPlane(state_dir).down():
        _say("control plane stopped")
    else:
        _say("no control plane was running")


@dev_cluster.command()
@state_dir_option
def status(state_dir: Path) -> None:
    """Print the cluster's state as JSON; exit 0 when it runs, 3 when it does not."""
    plane = ControlPlane(state_dir)
    click.echo(describe_json(plane.state()))
    if plane.running() is None:
        sys.exit(3)


@dev_cluster.command()
@state_dir_option
def kubeconfig(state_dir: Path) -> None:
    """Print the admin kubeconfig path of the running cluster."""
    state = ControlPlane(state_dir).running()
    if state is None:
        raise click.ClickException("no control plane is running; start one with `signalcraft dev-cluster up`")
    click.echo(state.kubeconfig)
