"""`signalcraft demo`: the whole stack on this machine, samples applied, and what both sides see.

Starts (or reuses) the local control plane, installs the CRDs, runs the API server (bootstrapped admin key) and the
operator in the background, applies config/samples, waits for Ready and prints `kubectl get signalcraft` next to the
same objects as the API returns them. `signalcraft demo down` stops what it started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx

from signalcraft.devcluster import binaries
from signalcraft.devcluster.controlplane import ControlPlane
from signalcraft.devcluster.paths import default_state_dir, repo_root

NAMESPACE = "signalcraft-demo"
COLLECTIONS = ("escalation-policies", "alert-policies", "integrations")


def _say(message: str) -> None:
    click.echo(f"[demo] {message}", err=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _demo_dir() -> Path:
    path = default_state_dir() / "demo"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pid_alive(pid_file: Path) -> int | None:
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def _spawn(name: str, argv: list[str], env: dict[str, str]) -> None:
    directory = _demo_dir()
    with (directory / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "signalcraft", *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,
        )
    (directory / f"{name}.pid").write_text(str(process.pid))


def _kubectl(kubeconfig: str, *args: str) -> str:
    result = subprocess.run(
        [str(binaries.ensure("kubectl")), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": kubeconfig},
        check=False,
    )
    if result.returncode != 0:
        raise click.ClickException(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _start_api(directory: Path) -> tuple[str, Path]:
    url_file, key_file = directory / "api.url", directory / "api.key"
    if _pid_alive(directory / "api.pid") and url_file.exists() and key_file.exists():
        return url_file.read_text(), key_file
    database = directory / "signalcraft.db"
    if not key_file.exists():
        bootstrap = subprocess.run(
            [sys.executable, "-m", "signalcraft", "api", "bootstrap", "--db", str(database)],
            capture_output=True,
            text=True,
            check=False,
        )
        if bootstrap.returncode != 0:
            raise click.ClickException(f"api bootstrap failed: {bootstrap.stderr.strip()}")
        key_file.write_text(bootstrap.stdout.strip().splitlines()[-1])
        key_file.chmod(0o600)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    _spawn("api", ["api", "--db", str(database), "--host", "127.0.0.1", "--port", str(port)], {})
    url_file.write_text(url)
    _wait(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200, "the API server")
    return url, key_file


def _wait(check: object, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if callable(check) and check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise click.ClickException(f"timed out waiting for {what}; logs are in {_demo_dir()}")


@click.group("demo", invoke_without_command=True)
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Run the whole stack locally, apply the samples and show both sides."""
    if ctx.invoked_subcommand is not None:
        return
    directory = _demo_dir()
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig:
        state, started = ControlPlane(default_state_dir(), progress=_say).up()
        kubeconfig = state.kubeconfig
        _say("control plane started" if started else "control plane already running")
    crds = str(repo_root() / "crds")
    _kubectl(kubeconfig, "apply", "--server-side", "-f", crds)
    _kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", "-f", crds)
    url, key_file = _start_api(directory)
    _say(f"API server at {url}")
    if not _pid_alive(directory / "operator.pid"):
        _spawn(
            "operator",
            [
                "operator",
                "--api-url",
                url,
                "--api-key-file",
                str(key_file),
                "--namespace",
                NAMESPACE,
                "--health-port",
                "0",
                "--metrics-port",
                "0",
            ],
            {"KUBECONFIG": kubeconfig},
        )
    if NAMESPACE not in _kubectl(kubeconfig, "get", "namespaces", "-o", "name"):
        _kubectl(kubeconfig, "create", "namespace", NAMESPACE)
    samples = str(repo_root() / "config" / "samples")
    _kubectl(kubeconfig, "apply", "-n", NAMESPACE, "-f", samples)
    _kubectl(kubeconfig, "wait", "-n", NAMESPACE, "--for=condition=Ready", "--timeout=120s", "signalcraft", "--all")
    click.echo(f"\n$ kubectl get signalcraft -n {NAMESPACE}")
    click.echo(_kubectl(kubeconfig, "get", "signalcraft", "-n", NAMESPACE))
    headers = {"Authorization": f"Bearer {key_file.read_text().strip()}"}
    for collection in COLLECTIONS:
        listed = httpx.get(f"{url}/v1/{collection}", headers=headers, timeout=10).raise_for_status().json()
        click.echo(f"$ GET {url}/v1/{collection}")
        for item in listed["items"]:
            manager = (item.get("manager") or {}).get("identity", "")
            click.echo(f"  {item['name']}  id={item['id']}  version={item['version']}  manager={manager}")
            click.echo(f"    spec={json.dumps(item['spec'], sort_keys=True)}")
    click.echo(
        f"\nTry it:\n  export KUBECONFIG={kubeconfig}\n  kubectl get signalcraft -n {NAMESPACE} -w\n"
        f"  kubectl describe alertpolicy db-cpu -n {NAMESPACE}\n"
        f"  curl -H 'Authorization: Bearer '$(cat {key_file}) {url}/v1/alert-policies\n"
        f"Logs: {directory}\nStop everything: signalcraft demo down"
    )


@demo.command()
def down() -> None:
    """Stop the demo's API server and operator (by pid) and the local control plane."""
    directory = _demo_dir()
    for name in ("operator", "api"):
        pid = _pid_alive(directory / f"{name}.pid")
        if pid is not None:
            os.killpg(pid, signal.SIGTERM)
            _say(f"stopped {name} (pid {pid})")
        (directory / f"{name}.pid").unlink(missing_ok=True)
    if not os.environ.get("KUBECONFIG") and ControlPlane(default_state_dir()).down():
        _say("control plane stopped")
