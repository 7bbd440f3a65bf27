"""Comparing the spec the operator wants with the spec SignalCraft holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def spec_differences(desired: Any, remote: Any, path: str = "") -> list[str]:
    """JSON-pointer-like paths where `remote` does not hold what `desired` asks for.

    Keys the operator does not set (None or absent in `desired`) are the server's to default and are not compared,
    so a field the API fills in on its own never reads as drift.
    """
    if isinstance(desired, Mapping):
        if not isinstance(remote, Mapping):
            return [path or "/"]
        found: list[str] = []
        for key, value in desired.items():
            if value is None:
                if remote.get(key) is not None:
                    found.append(f"{path}/{key}")
                continue
            found.extend(spec_differences(value, remote.get(key), f"{path}/{key}"))
        return found
    if isinstance(desired, Sequence) and not isinstance(desired, str):
        if not isinstance(remote, Sequence) or isinstance(remote, str) or len(remote) != len(desired):
            return [path or "/"]
        found = []
        for index, (want, have) in enumerate(zip(desired, remote, strict=True)):
            found.extend(spec_differences(want, have, f"{path}/{index}"))
        return found
    if isinstance(desired, bool) or isinstance(remote, bool):
        return [] if desired is remote else [path or "/"]
    return [] if desired == remote else [path or "/"]
