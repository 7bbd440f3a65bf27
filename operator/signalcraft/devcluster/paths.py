"""Where the local control plane keeps cached binaries and run state."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Binaries and run state live outside the repository, keyed by version (SIGNALCRAFT_CACHE overrides)."""
    return Path(os.environ.get("SIGNALCRAFT_CACHE", Path.home() / ".cache" / "signalcraft"))


def default_state_dir() -> Path:
    return Path(os.environ.get("SIGNALCRAFT_RUN_DIR", cache_root() / "run"))


def repo_root() -> Path:
    # operator/signalcraft/devcluster/paths.py -> the repository root
    return Path(__file__).resolve().parents[3]


def tools_dir() -> Path:
    return Path(os.environ.get("SIGNALCRAFT_TOOLS_DIR", repo_root() / "tools"))
