"""The compiled JSON path agrees with the strict one, and an event that embeds the body verbatim reads as encoded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalcraft.api import wire
from signalcraft.ingest import pipeline
from signalcraft.ingest.sources.base import InboundRequest
from signalcraft.ingest.sources.registry import get_strategy

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads" / "alertmanager"


def outcome(read: Any, data: bytes | str) -> tuple[str, Any]:
    try:
        return "value", read(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and UnsafeNumber are ValueErrors too
        return "refused", type(exc).__name__


EDGES = [
    b"NaN",
    b"[Infinity]",
    b"[-Infinity]",
    b"[1e400]",
    b"[-1e400]",
    b"[1e-400]",
    b"[9007199254740991]",
    b"[9007199254740992]",
    b"[-9007199254740993]",
    b"[123456789012345678901234567890]",
    b'"digits 12345678901234567 in a string"',
    b'"\\ud800"',
    b'"\\udc00\\ud800"',
    b'"\\ud83d\\ude00"',
    b'"\\u0000"',
    b'{"a": 1, "a": 2}',
    b"\xef\xbb\xbf{}",
    '{"a": 1}'.encode("utf-16"),
    '{"a": 1}'.encode("utf-16-le"),
    b'"\xff"',
    b'"\xed\xa0\x80"',
    b"",
    b"[1,]",
    b" {} \n",
    b"[-0, -0.0, 1E5, 0.1, 2.5e-3]",
    b"[" * 5000 + b"]" * 5000,
]


@pytest.mark.parametrize("data", EDGES)
def test_the_compiled_path_returns_or_refuses_what_the_strict_one_does(data: bytes) -> None:
    assert outcome(wire.loads, data) == outcome(wire.strict_loads, data)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON, st.booleans())
def test_any_document_reads_the_same_both_ways(document: Any, ascii_only: bool) -> None:
    text = json.dumps(document, ensure_ascii=ascii_only)
    assert outcome(wire.loads, text.encode()) == outcome(wire.strict_loads, text.encode())
    assert outcome(wire.loads, text) == outcome(wire.strict_loads, text)


def test_only_plain_utf8_json_counts_as_verbatim() -> None:
    assert wire.parse(b'{"a": [1, "\xc3\xa9"]}') == ({"a": [1, "é"]}, True)
    assert wire.parse(b"\xef\xbb\xbf{}")[1] is False, "a byte order mark cannot stand inside another document"
    assert wire.parse('{"a": 1}'.encode("utf-16"))[1] is False
    assert InboundRequest({}, b'{"a": "\\u0000"}').verbatim is False, "repaired: the body is not the document"
    assert InboundRequest({}, b'{"a": "\\u0000"}').document == {"a": "\ufffd"}
    assert InboundRequest({}, b'{"a": 12345678901234}').verbatim is True


@pytest.mark.parametrize("fixture", sorted(PAYLOADS.glob("*.json")), ids=lambda path: path.name)
def test_an_event_embedding_the_body_reads_as_the_fully_encoded_event(fixture: Path) -> None:
    for body in (fixture.read_bytes(), json.dumps(json.loads(fixture.read_bytes()), indent=2).encode()):
        inbound = InboundRequest({}, body)
        events = get_strategy("alertmanager").parse(inbound, "team-a")
        assert inbound.verbatim
        embedded = [pipeline.encoded(event, inbound) for event in events]
        assert embedded[0].endswith(b',"raw":' + body + b"}"), "the body's own bytes, not a second encoding"
        assert [json.loads(data) for data in embedded] == [json.loads(pipeline.encoded(event)) for event in events]
        (batch,) = pipeline.batches(events, inbound)
        assert json.loads(batch.events) == [json.loads(pipeline.encoded(event)) for event in events]


def test_a_repaired_body_is_encoded_from_the_repaired_document() -> None:
    body = json.dumps({"version": "4", "groupKey": "g\u0000", "status": "firing", "alerts": [{"labels": {}}]})
    inbound = InboundRequest({}, body.encode())
    (event,) = get_strategy("alertmanager").parse(inbound, "team-a")
    data = pipeline.encoded(event, inbound)
    assert b"\\u0000" not in data
    assert json.loads(data)["raw"]["groupKey"] == "g\ufffd"
