"""The API's grouping does work proportional to the alerts in a request, not to the size of their groups: SQLite's
own virtual-machine step counter (a progress handler on the real database connection) for one event into a group of
5 alerts and into a group of 3,000 stays the same, and the group's state is still right."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from signalcraft.api.alerts import AlertEvent, AlertStatus, Severity
from signalcraft.server.alerts import ingest
from signalcraft.server.storage import Row, Storage, open_storage
from signalcraft.server.storage.sqlite import SqliteEngine


def event(
    group: str, dedup: str, status: AlertStatus = AlertStatus.FIRING, severity: Severity = Severity.INFO
) -> AlertEvent:
    return AlertEvent(
        source="alertmanager",
        integration="cost",
        group_key=group,
        dedup_key=dedup,
        status=status,
        severity=severity,
        summary=f"{dedup} is {status.value}",
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


async def steps_for(db: Storage, events: list[AlertEvent]) -> int:
    counted = [0]

    def step() -> int:
        counted[0] += 1
        return 0

    assert isinstance(db.engine, SqliteEngine)
    writer = db.engine.writer.raw  # every write statement runs on the writer connection
    writer.set_progress_handler(step, 100)
    try:
        await ingest(db, events)
    finally:
        writer.set_progress_handler(None, 100)
    return counted[0]


async def read_one(db: Storage, sql: str) -> Row | None:
    return await db.reads.connection.fetch_one(sql)


async def test_one_event_costs_the_same_in_a_small_and_a_large_group(tmp_path: Path) -> None:
    db = open_storage(tmp_path / "api.db")
    await db.open()
    try:
        await ingest(db, [event("small", f"a{n}") for n in range(5)])
        for chunk in range(3):
            await ingest(db, [event("large", f"a{chunk}-{n}") for n in range(1000)])
        small = await steps_for(db, [event("small", "a0", AlertStatus.RESOLVED)])
        large = await steps_for(db, [event("large", "a0-0", AlertStatus.RESOLVED)])
        assert large <= small * 1.5 + 5, f"{large} steps in a group of 3000 vs {small} in a group of 5"

        row = await read_one(db, "SELECT status, severity, alert_count FROM alert_groups WHERE group_key = 'large'")
        assert row is not None
        assert (row["status"], row["alert_count"]) == ("firing", 3000)
        await ingest(db, [event("large", "a1-7", severity=Severity.CRITICAL)])
        row = await read_one(db, "SELECT severity, summary FROM alert_groups WHERE group_key = 'large'")
        assert row is not None
        assert (row["severity"], row["summary"]) == ("critical", "a1-7 is firing"), "the worst open alert leads"
        await ingest(db, [event("large", "a1-7", AlertStatus.RESOLVED, Severity.CRITICAL)])
        row = await read_one(db, "SELECT severity FROM alert_groups WHERE group_key = 'large'")
        assert row is not None
        assert row["severity"] == "info", "a resolved alert no longer counts while others are open"
        await ingest(db, [event("small", f"a{n}", AlertStatus.RESOLVED) for n in range(5)])
        row = await read_one(db, "SELECT status, alert_count, resolved_at FROM alert_groups WHERE group_key = 'small'")
        assert row is not None
        assert (row["status"], row["alert_count"]) == ("resolved", 5)
        assert row["resolved_at"]
    finally:
        await db.close()
