"""JSON as the contract reads it at every boundary: numbers every client can hold, nothing else.

NaN and ±Infinity are not JSON (RFC 8259), yet Python's parser accepts them; integers beyond ±(2^53-1) are JSON but
lose digits in JavaScript, Go's float64 decoding and Terraform. Accepting either would store a value that cannot be
echoed faithfully (or at all: a stored NaN made later answers fail), so request bodies are parsed with `loads`.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from signalcraft.api.limits import MAX_SAFE_INTEGER

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 16
"""Sixteen digits in a row somewhere (perhaps inside a string): an integer there might exceed 2^53-1. Searched for
in the text with every digit made a zero (two passes in C; a regular expression takes several times as long)."""
_DECODER = msgspec.json.Decoder()


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


def strict_loads(data: bytes | str) -> Any:
    """`json.loads`, refusing NaN, ±Infinity and integers outside ±(2^53-1) (`UnsafeNumber`, a ValueError)."""
    return json.loads(data, parse_constant=_constant, parse_int=_integer, parse_float=_float)


def loads(data: bytes | str) -> Any:
    """What `strict_loads` returns or raises (see `parse`)."""
    return parse(data)[0]


def parse(data: bytes | str) -> tuple[Any, bool]:
    """What `strict_loads` returns (or raises), and whether `data` is plain JSON text in UTF-8 (no byte order mark,
    no other encoding), so that its bytes may stand verbatim inside another UTF-8 JSON document.

    A compiled parser (msgspec) computes it where it provably agrees: it reads only strict UTF-8 JSON (no NaN, no
    Infinity, a number too large for a double fails) but decodes integers of any size, so a body with sixteen digits
    in a row anywhere (the only way to write an integer beyond 2^53-1) goes to `strict_loads`, as does anything the
    compiled parser refuses (lone surrogate escapes, other encodings, malformed JSON: the error then is Python's).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if _LONG_DIGITS not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return _DECODER.decode(raw), True
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            pass
    return strict_loads(data), False


__all__ = ["UnsafeNumber", "loads", "parse", "strict_loads"]
