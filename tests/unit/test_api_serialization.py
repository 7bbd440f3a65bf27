"""A resource's JSON is rendered from its stored columns without parsing them again, and is byte for byte what
JSONResponse makes of the parsed object: any spec, labels and manager as `dumps` stores them (non-ASCII, escapes,
floats, large integers, nesting), and a status in whatever layout the database's JSON functions wrote it."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from signalcraft.api.limits import MAX_SAFE_INTEGER
from signalcraft.server.resources import serialize, serialized
from signalcraft.server.storage import dumps

texts = st.text(max_size=12)
leaves = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4))
objects = st.dictionaries(texts, values, max_size=5)


@settings(max_examples=300, deadline=None)
@given(
    spec=objects,
    labels=st.dictionaries(texts, texts, max_size=3),
    manager=st.none() | objects,
    status=objects,
    names=st.tuples(texts, texts | st.none(), texts | st.none()),
    version=st.integers(1, 10**9),
    database_layout=st.booleans(),
)
def test_rendered_from_the_columns_equals_the_parsed_object_rendered(
    spec: dict[str, Any],
    labels: dict[str, str],
    manager: dict[str, Any] | None,
    status: dict[str, Any],
    names: tuple[str, str | None, str | None],
    version: int,
    database_layout: bool,
) -> None:
    # PostgreSQL's jsonb text has spaces after ':' and ','; SQLite's json_set keeps insertion order, unsorted.
    status_text = json.dumps(status) if database_layout else json.dumps(status, separators=(",", ":"))
    row = {
        "name": names[0],
        "id": "esc_0123456789abcdef",
        "display_name": names[1],
        "description": names[2],
        "labels": dumps(labels),
        "manager": dumps(manager) if manager is not None else None,
        "spec": dumps(spec),
        "status": status_text,
        "version": version,
        "created_at": "2026-12-01T00:00:00Z",
        "updated_at": "2026-12-02T00:00:00Z",
    }
    assert serialized(row).encode() == JSONResponse(serialize(row)).body
