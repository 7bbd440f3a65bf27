"""The image's build steps without a Docker engine: hadolint on the Dockerfile, then the same wheel + hash-pinned
virtualenv the Dockerfile builds, and every command the Helm chart runs, from that virtualenv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
UV = Path.home() / ".cache" / "signalcraft" / "uv-0.13.9" / "bin" / "uv"


def run(*argv: str | Path, cwd: Path = REPO) -> str:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    result = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, cwd=cwd, env=env, timeout=600, check=False
    )
    assert result.returncode == 0, f"{argv}: {result.stdout}\n{result.stderr}"
    return result.stdout


def test_dockerfile_is_hadolint_clean() -> None:
    run(Path(sys.executable).parent / "hadolint", REPO / "Dockerfile")


def test_wheel_in_a_fresh_virtualenv_runs_the_chart_commands(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        run(UV, "export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements.txt")
    )
    venv = tmp_path / "venv"
    run(UV, "venv", venv, "--python", sys.executable)
    run(UV, "pip", "install", "--python", venv / "bin" / "python", "--require-hashes", "-r", requirements)
    run(UV, "build", "--wheel", "--out-dir", tmp_path / "dist")
    (wheel,) = (tmp_path / "dist").glob("signalcraft_operator-*.whl")
    run(UV, "pip", "install", "--python", venv / "bin" / "python", "--no-deps", wheel)
    signalcraft = venv / "bin" / "signalcraft"
    for command in ("operator", "webhook", "api"):
        assert "Usage:" in run(signalcraft, command, "--help", cwd=tmp_path)
    assert "SignalCraft" in run(signalcraft, "--help", cwd=tmp_path)
    crds = run(signalcraft, "crds", cwd=tmp_path)
    assert crds.count("kind: CustomResourceDefinition") == 3
    dev = subprocess.run([str(venv / "bin" / "python"), "-c", "import pytest"], capture_output=True, check=False)
    assert dev.returncode != 0, "the runtime environment must not contain dev tools"
