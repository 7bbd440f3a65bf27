"""How exceptions reach a log line: type and place for each exception of the chain, never a message."""

from __future__ import annotations

import pytest

from signalcraft.supervision import failure_outline


def _parse_credentials(text: str) -> None:
    raise ValueError(f"cannot parse {text!r}")


def _load(text: str) -> None:
    try:
        _parse_credentials(text)
    except ValueError as exc:
        raise RuntimeError(f"loading failed for {text}") from exc


def test_the_outline_names_types_and_places_but_no_message() -> None:
    secret = "-".join(("sc", "key", "held", "at", "run", "time"))  # not a literal the printed source lines could show
    with pytest.raises(RuntimeError) as caught:
        _load(secret)
    outline = failure_outline(caught.value)
    assert "builtins.RuntimeError" in outline
    assert "caused by builtins.ValueError" in outline
    assert "_parse_credentials" in outline
    assert "test_failure_outline.py" in outline
    assert secret not in outline


def test_a_suppressed_context_is_left_out() -> None:
    try:
        try:
            {}["missing"]
        except KeyError:
            raise LookupError("nothing") from None
    except LookupError as exc:
        outline = failure_outline(exc)
    assert outline.startswith("builtins.LookupError")
    assert "KeyError" not in outline
    assert "caused by" not in outline
