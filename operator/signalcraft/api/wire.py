"""JSON as the contract reads it at every boundary: numbers every client can hold, nothing else.

NaN and ±Infinity are not JSON (RFC 8259), yet Python's parser accepts them; integers beyond ±(2^53-1) are JSON but
lose digits in JavaScript, Go's float64 decoding and Terraform. Accepting either would store a value that cannot be
echoed faithfully (or at all: a stored NaN made later answers fail), so request bodies are parsed with `loads`.
"""

from __future__ import annotations

import json
from typing import Any

from signalcraft.api.limits import MAX_SAFE_INTEGER


class UnsafeNumber(ValueError):
    """A number no client can hold as written: NaN, ±Infinity, or an integer beyond ±(2^53-1)."""


def _constant(name: str) -> Any:
    raise UnsafeNumber(f"{name} is not a JSON number")


def _integer(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise UnsafeNumber(f"{text[:24]} is beyond ±{MAX_SAFE_INTEGER}: integers must fit in a double exactly")
    return value


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise UnsafeNumber(f"{text[:24]} is too large for a double")
    return value


def loads(data: bytes | str) -> Any:
    """`json.loads`, refusing NaN, ±Infinity and integers outside ±(2^53-1) (`UnsafeNumber`, a ValueError)."""
    return json.loads(data, parse_constant=_constant, parse_int=_integer, parse_float=_float)


__all__ = ["UnsafeNumber", "loads"]
