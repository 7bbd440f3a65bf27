"""The byte limit of a batch: a body whose alerts fit the API's event count but not its request size is split."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from signalcraft.api.alerts import AlertEvent, AlertStatus
from signalcraft.api.limits import MAX_EVENTS_PER_BATCH
from signalcraft.ingest.errors import PayloadTooLargeError
from signalcraft.ingest.pipeline import MAX_BATCH_BYTES, batches


def event(index: int, annotation_bytes: int, raw: dict[str, str] | None = None) -> AlertEvent:
    return AlertEvent(
        source="alertmanager",
        integration="prod",
        group_key="big-group",
        dedup_key=f"alert-{index}",
        status=AlertStatus.FIRING,
        summary=f"alert {index}",
        annotations={"runbook": "r" * annotation_bytes},
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
        raw=raw,
    )


def test_alerts_beyond_the_byte_limit_are_split_in_order_and_none_is_lost() -> None:
    events = [event(index, 200_000) for index in range(30)]  # 30 events, ~6 MB: far below the count limit
    assert len(events) < MAX_EVENTS_PER_BATCH
    split = batches(events)
    assert len(split) >= 3
    assert all(len(batch.events) <= MAX_BATCH_BYTES for batch in split)
    delivered = [item["dedup_key"] for batch in split for item in json.loads(batch.events)]
    assert delivered == [f"alert-{index}" for index in range(30)], "every alert once, in the sender's order"
    assert sum(batch.count for batch in split) == 30
    assert len({batch.lane for batch in split}) == 1, "one alert group stays one lane (delivered in order)"


def test_an_alert_too_large_alone_drops_its_raw_payload_first_then_is_refused() -> None:
    (kept,) = batches([event(0, 1_000, raw={"payload": "p" * MAX_BATCH_BYTES})])
    (item,) = json.loads(kept.events)
    assert item["raw"] is None, "the raw copy goes, the alert stays"
    assert item["annotations"]["runbook"] == "r" * 1_000
    with pytest.raises(PayloadTooLargeError, match="once normalized"):
        batches([event(0, MAX_BATCH_BYTES)])
