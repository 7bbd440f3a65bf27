"""Regular expressions written in specs (a routing rule's `matches`), run by RE2.

RE2 runs in time linear in the length of the text and never backtracks, so no pattern a client writes can hold the
server: `(a|aa)+$` against forty `a` and a `!` is as quick as any other. What RE2 cannot run (back-references,
look-around) is refused when the spec is written, by this same engine, never found out while routing an event.
"""

from __future__ import annotations

from typing import Protocol, cast

import re2  # type: ignore[import-untyped]

MAX_PROGRAM_BYTES = 1 << 20
"""Memory RE2 may use for one compiled pattern; a pattern needing more is refused as too complex."""


class CompiledPattern(Protocol):
    def search(self, text: str) -> object | None: ...


def _options() -> object:
    options = re2.Options()
    options.log_errors = False  # refusals are answered to the client, not printed on the server's stderr
    options.max_mem = MAX_PROGRAM_BYTES
    return cast("object", options)


_OPTIONS = _options()


def compile_pattern(pattern: str) -> CompiledPattern:
    """The pattern compiled by RE2; ValueError with RE2's reason when RE2 cannot run it."""
    try:
        return cast("CompiledPattern", re2.compile(pattern, _OPTIONS))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid"
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise ValueError(f"not a regular expression RE2 can run: {text}") from None


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` matches anywhere in `text` (compiled patterns are cached by RE2's module)."""
    return compile_pattern(pattern).search(text) is not None
