"""Run etcd + kube-apiserver on loopback, from one state directory that any shell can inspect or stop.

The control plane is envtest's: no controller-manager, scheduler or kubelet. So namespaces never finish deleting and
ownerReferences are not garbage-collected; tests use a fresh namespace each and never wait for those.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml
from pydantic import BaseModel

from signalcraft.devcluster import binaries
from signalcraft.devcluster.paths import default_state_dir
from signalcraft.devcluster.pki import write_pki

Progress = Callable[[str], None]

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0


class ControlPlaneError(RuntimeError):
    """The control plane did not start or stop; the message names the log file to read."""


class ProcessRecord(BaseModel):
    pid: int
    start_ticks: int
    binary: str
    log: str


class ClusterState(BaseModel):
    """Everything `status` and `down` need, written once the cluster is ready."""

    server: str
    kubeconfig: str
    etcd_url: str
    etcd: ProcessRecord
    apiserver: ProcessRecord
    started_at: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_ticks(pid: int) -> int | None:
    """The process start time from /proc, so a recycled pid is never mistaken for ours."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after the closing parenthesis are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):  # exited, waiting to be reaped by whoever started it: not running
        return None
    return int(fields[19])


def is_alive(record: ProcessRecord) -> bool:
    return _start_ticks(record.pid) == record.start_ticks


def _stop(record: ProcessRecord) -> None:
    if not is_alive(record):
        return
    try:
        os.killpg(record.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not is_alive(record):
            return
        time.sleep(0.05)
    os.killpg(record.pid, signal.SIGKILL)
    while is_alive(record):
        time.sleep(0.05)


class ControlPlane:
    """One local control plane whose state lives in ``state_dir``."""

    def __init__(self, state_dir: Path | None = None, progress: Progress | None = None) -> None:
        self.state_dir = (state_dir or default_state_dir()).resolve()
        self._progress = progress or (lambda message: None)
        self._children: list[subprocess.Popen[bytes]] = []

    @property
    def _state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "admin.kubeconfig"

    def state(self) -> ClusterState | None:
        try:
            return ClusterState.model_validate_json(self._state_file.read_text())
        except (OSError, ValueError):
            return None

    def running(self) -> ClusterState | None:
        state = self.state()
        if state and is_alive(state.etcd) and is_alive(state.apiserver):
            return state
        return None

    def up(self) -> tuple[ClusterState, bool]:
        """Start the control plane unless it already runs; returns its state and whether this call started it."""
        existing = self.running()
        if existing is not None:
            return existing, False
        self.down()  # a half-dead previous run: stop what is left and start clean
        paths = {name: binaries.ensure(name, self._progress) for name in ("etcd", "kube-apiserver")}
        self.state_dir.mkdir(parents=True, exist_ok=True)
        pki = self.state_dir / "pki"
        write_pki(pki)
        logs = self.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        etcd_port, peer_port, api_port = _free_port(), _free_port(), _free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        server = f"https://127.0.0.1:{api_port}"
        try:
            etcd = self._spawn(
                paths["etcd"],
                [
                    "--name=signalcraft",
                    f"--data-dir={self.state_dir / 'etcd'}",
                    f"--listen-client-urls={etcd_url}",
                    f"--advertise-client-urls={etcd_url}",
                    f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-cluster=signalcraft=http://127.0.0.1:{peer_port}",
                    "--unsafe-no-fsync=true",
                    "--log-level=warn",
                ],
                logs / "etcd.log",
            )
            self._wait_http(f"{etcd_url}/health", etcd, None)
            apiserver = self._spawn(
                paths["kube-apiserver"],
                [
                    f"--etcd-servers={etcd_url}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    "--endpoint-reconciler-type=none",
                    f"--secure-port={api_port}",
                    f"--cert-dir={pki}",
                    f"--tls-cert-file={pki / 'apiserver.crt'}",
                    f"--tls-private-key-file={pki / 'apiserver.key'}",
                    f"--client-ca-file={pki / 'ca.crt'}",
                    f"--service-account-issuer={server}/",
                    f"--service-account-key-file={pki / 'sa.pub'}",
                    f"--service-account-signing-key-file={pki / 'sa.key'}",
                    "--service-cluster-ip-range=10.0.0.0/24",
                    "--allow-privileged=true",
                    "--authorization-mode=RBAC",
                    "--disable-admission-plugins=ServiceAccount",
                ],
                logs / "kube-apiserver.log",
            )
            context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
            context.load_cert_chain(pki / "admin.crt", pki / "admin.key")
            self._wait_http(f"{server}/readyz", apiserver, context)
            self._wait_http(f"{server}/api/v1/namespaces/default", apiserver, context)
        except BaseException:
            for child in self._children:
                if child.poll() is None:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
            raise
        self._write_kubeconfig(server, pki)
        state = ClusterState(
            server=server,
            kubeconfig=str(self.kubeconfig),
            etcd_url=etcd_url,
            etcd=self._record(etcd, paths["etcd"], logs / "etcd.log"),
            apiserver=self._record(apiserver, paths["kube-apiserver"], logs / "kube-apiserver.log"),
            started_at=time.time(),
        )
        self._state_file.write_text(state.model_dump_json(indent=2))
        for child in self._children:
            # The processes outlive this object by design (`down` stops them by pid from any shell); marking the
            # handles as settled keeps Popen's destructor from warning about a child it was never meant to reap.
            child.returncode = 0
        self._children.clear()
        return state, True

    def down(self) -> bool:
        """Stop exactly the processes this state directory started (apiserver first); True if any was running."""
        state = self.state()
        was_running = False
        if state is not None:
            was_running = is_alive(state.apiserver) or is_alive(state.etcd)
            _stop(state.apiserver)
            _stop(state.etcd)
        if self.state_dir.exists():
            for item in ("state.json", "admin.kubeconfig", "pki", "etcd"):
                path = self.state_dir / item
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        return was_running

    def _spawn(self, binary: Path, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        self._progress(f"starting {binary.name}")
        with log.open("ab") as out:
            # A process group of its own: `down` signals the group, and a Ctrl-C in the shell does not reach it.
            child = subprocess.Popen(
                [str(binary), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._children.append(child)
        return child

    @staticmethod
    def _record(child: subprocess.Popen[bytes], binary: Path, log: Path) -> ProcessRecord:
        ticks = _start_ticks(child.pid)
        if ticks is None:
            raise ControlPlaneError(f"{binary.name} exited right after start; see {log}")
        return ProcessRecord(pid=child.pid, start_ticks=ticks, binary=str(binary), log=str(log))

    def _wait_http(self, url: str, child: subprocess.Popen[bytes], context: ssl.SSLContext | None) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last = ""
        with httpx.Client(verify=context or True, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if child.poll() is not None:
                    raise ControlPlaneError(
                        f"process {child.pid} exited with {child.returncode}; see the logs in {self.state_dir / 'logs'}"
                    )
                try:
                    response = client.get(url)
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                time.sleep(0.1)
        raise ControlPlaneError(f"{url} not ready after {START_TIMEOUT_S:.0f}s ({last}); see {self.state_dir / 'logs'}")

    def _write_kubeconfig(self, server: str, pki: Path) -> None:
        def b64(name: str) -> str:
            return base64.b64encode((pki / name).read_bytes()).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "signalcraft-dev", "cluster": {"server": server, "certificate-authority-data": b64("ca.crt")}}
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {"client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key")},
                }
            ],
            "contexts": [{"name": "signalcraft-dev", "context": {"cluster": "signalcraft-dev", "user": "admin"}}],
            "current-context": "signalcraft-dev",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig.chmod(0o600)


def describe(state: ClusterState | None) -> dict[str, object]:
    if state is None:
        return {"running": False}
    return {
        "running": is_alive(state.etcd) and is_alive(state.apiserver),
        "server": state.server,
        "kubeconfig": state.kubeconfig,
        "etcd": {"pid": state.etcd.pid, "alive": is_alive(state.etcd), "log": state.etcd.log},
        "kube-apiserver": {"pid": state.apiserver.pid, "alive": is_alive(state.apiserver), "log": state.apiserver.log},
        "uptime_s": round(time.time() - state.started_at, 1),
    }


def describe_json(state: ClusterState | None) -> str:
    return json.dumps(describe(state), indent=2)
