"""generic-webhook: any JSON, mapped per integration by dotted paths."""

from __future__ import annotations

import pytest
from tests.support.payloads import json_request

from signalcraft.api.alerts import AlertStatus
from signalcraft.api.specs import Severity
from signalcraft.ingest.errors import PayloadError
from signalcraft.ingest.sources.registry import get_strategy

MAPPING = {
    "summary_field": "alert.title",
    "severity_field": "alert.level",
    "dedup_key_field": "id",
    "status_field": "state",
}


def test_dotted_paths_map_summary_severity_key_and_status() -> None:
    body = {"id": 42, "state": "resolved", "alert": {"title": "queue backed up", "level": "high"}}
    (parsed,) = get_strategy("generic-webhook", MAPPING).parse(json_request(body), "generic")
    assert (parsed.summary, parsed.severity, parsed.dedup_key, parsed.status) == (
        "queue backed up",
        Severity.ERROR,
        "42",
        AlertStatus.RESOLVED,
    )
    assert parsed.group_key == "42"
    assert parsed.integration == "generic"


def test_list_indexes_in_paths_and_defaults() -> None:
    strategy = get_strategy("generic-webhook", {"summary_field": "items.1.text", "status_field": "items.1.state"})
    body = {"items": [{"text": "first"}, {"text": "second", "state": "ack"}]}
    (parsed,) = strategy.parse(json_request(body))
    assert parsed.summary == "second"
    assert parsed.status is AlertStatus.ACKNOWLEDGED
    assert parsed.severity is Severity.WARNING, "no severity path: warning"
    (again,) = strategy.parse(json_request(body))
    assert again.dedup_key == parsed.dedup_key, "without a dedup path the same body is the same alert"
    (unmapped,) = get_strategy("generic-webhook").parse(json_request({"summary": "plain"}))
    assert unmapped.summary == "plain"
    assert unmapped.status is AlertStatus.FIRING


def test_missing_or_non_text_summary_is_refused_with_the_path() -> None:
    strategy = get_strategy("generic-webhook", MAPPING)
    with pytest.raises(PayloadError, match=r"alert\.title"):
        strategy.parse(json_request({"alert": {}}))
    with pytest.raises(PayloadError, match=r"alert\.title"):
        strategy.parse(json_request({"alert": {"title": {"nested": True}}}))
