"""The image without a Docker engine: hadolint on the Dockerfile, its final stage's shape, and its build steps run on
exactly the build context Docker would send (the COPY sources, filtered by .dockerignore), into a fresh virtualenv that
then runs every command the Helm chart uses."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from signalcraft.controllers.registry import KINDS

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


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages as (INSTRUCTION, arguments) lists, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    found: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            found.append([])
        found[-1].append((instruction.upper(), arguments.strip()))
    return found


def test_dockerfile_is_hadolint_clean() -> None:
    run(Path(sys.executable).parent / "hadolint", "--failure-threshold", "info", REPO / "Dockerfile")


def test_final_stage_is_the_virtualenv_only_as_a_numeric_non_root_user() -> None:
    *_, final = stages()
    instructions = [instruction for instruction, _ in final]
    assert "RUN" not in instructions, "nothing is installed or compiled in the runtime stage"
    copies = [arguments for instruction, arguments in final if instruction == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]
    (user,) = [arguments for instruction, arguments in final if instruction == "USER"]
    assert re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", user), "runAsNonRoot needs a numeric user"
    (entrypoint,) = [arguments for instruction, arguments in final if instruction == "ENTRYPOINT"]
    assert entrypoint == '["/opt/venv/bin/signalcraft"]', "exec form: signals reach the program, not a shell"
    (base,) = [arguments for instruction, arguments in stages()[0] if instruction == "FROM"]
    assert final[0] == ("FROM", base.removesuffix(" AS build")), "same Python in both stages (venv symlinks)"


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories decides."""
    excluded = False
    parts = path.split("/")
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw.removeprefix("!").strip().rstrip("/")
        regex = "".join(
            {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
            for token in re.findall(r"\*\*/|\*\*|\*|\?|[^*?]+", pattern)
        )
        if any(re.fullmatch(regex, "/".join(parts[:depth])) for depth in range(1, len(parts) + 1)):
            excluded = not negated
    return excluded


def build_context(destination: Path) -> Path:
    """The files the build stage's COPY instructions receive, laid out as they are in /src."""
    patterns = dockerignore_patterns()
    for instruction, arguments in stages()[0]:
        if instruction != "COPY":
            continue
        *sources, target = arguments.split()
        for source in sources:
            origin = REPO / source
            files = [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
            sent = [f for f in files if not dockerignore_excludes(str(f.relative_to(REPO)), patterns)]
            assert sent, f"COPY {source}: .dockerignore leaves nothing of it in the build context"
            for file in sent:
                if origin.is_dir():  # COPY dir target: the directory's contents go into target
                    copy = destination / target / file.relative_to(origin)
                else:  # COPY file target/ (into the directory) or COPY file target (renamed)
                    copy = destination / target / file.name if target.endswith("/") else destination / target
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, copy)
    return destination


def test_dockerignore_keeps_the_build_context_small() -> None:
    patterns = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    for sent in ("pyproject.toml", "uv.lock", "README.md", "operator/signalcraft/cli.py"):
        assert not dockerignore_excludes(sent, patterns), sent
    for kept_out in (
        ".venv/bin/python",
        ".git/HEAD",
        "tests/e2e/conftest.py",
        "operator/signalcraft/__pycache__/x.pyc",
    ):
        assert dockerignore_excludes(kept_out, patterns), kept_out


def test_the_build_steps_on_the_docker_context_give_a_working_runtime(tmp_path: Path) -> None:
    # The build stage's RUN, step by step: hash-pinned dependencies from the lock file, then the project's wheel.
    source = build_context(tmp_path / "src")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        run(UV, "export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements.txt", cwd=source)
    )
    venv = tmp_path / "venv"
    run(UV, "venv", venv, "--python", sys.executable)
    run(UV, "pip", "install", "--python", venv / "bin" / "python", "--require-hashes", "-r", requirements)
    run(UV, "build", "--wheel", "--out-dir", tmp_path / "dist", cwd=source)
    (wheel,) = (tmp_path / "dist").glob("signalcraft_operator-*.whl")
    run(UV, "pip", "install", "--python", venv / "bin" / "python", "--no-deps", wheel)

    signalcraft = venv / "bin" / "signalcraft"
    assert "SignalCraft" in run(signalcraft, "--help", cwd=tmp_path)
    for command in ("operator", "webhook", "api"):
        assert "Usage:" in run(signalcraft, command, "--help", cwd=tmp_path)
    assert run(signalcraft, "crds", cwd=tmp_path).count("kind: CustomResourceDefinition") == len(KINDS)
    dev = subprocess.run([str(venv / "bin" / "python"), "-c", "import pytest"], capture_output=True, check=False)
    assert dev.returncode != 0, "the runtime environment must not contain dev tools"
