"""Alert groups, keyed by (integration, group_key), and their alerts, one per dedup key."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signalcraft.server.storage.engine import Connection, Row, dumps

ALERT_COLUMNS = (
    "id",
    "group_id",
    "dedup_key",
    "status",
    "severity",
    "summary",
    "details",
    "labels",
    "annotations",
    "links",
    "images",
    "occurred_at",
    "updated_at",
)
_UPSERT_ALERT = (
    f"INSERT INTO alerts ({', '.join(ALERT_COLUMNS)}) VALUES ({', '.join('?' for _ in ALERT_COLUMNS)}) "  # noqa: S608
    "ON CONFLICT (group_id, dedup_key) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in ALERT_COLUMNS[3:])
)
GROUP_COLUMNS = (
    "id",
    "integration",
    "group_key",
    "status",
    "severity",
    "summary",
    "source",
    "alert_policy",
    "escalation_policy",
    "truncated_alerts",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class GroupFilter:
    status: str | None = None
    integration: str | None = None
    alert_policy: str | None = None
    updated_since: str | None = None
    after: str | None = None


class AlertStore:
    def __init__(self, db: Connection) -> None:
        self.db = db

    async def group(self, group_id: str) -> Row | None:
        return await self.db.fetch_one("SELECT * FROM alert_groups WHERE id = ?", (group_id,))

    async def group_exists(self, group_id: str) -> bool:
        return await self.db.fetch_one("SELECT 1 AS found FROM alert_groups WHERE id = ?", (group_id,)) is not None

    async def group_id(self, integration: str, group_key: str) -> str | None:
        row = await self.db.fetch_one(
            "SELECT id FROM alert_groups WHERE integration = ? AND group_key = ?", (integration, group_key)
        )
        return str(row["id"]) if row is not None else None

    async def insert_group(self, row: Mapping[str, Any]) -> None:
        await self.db.execute(
            f"INSERT INTO alert_groups ({', '.join(GROUP_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in GROUP_COLUMNS)})",
            tuple(row[column] for column in GROUP_COLUMNS),
        )

    async def touch_group(
        self, group_id: str, truncated_alerts: int, alert_policy: str | None, escalation_policy: str | None
    ) -> None:
        """A known group got another event: keep the largest truncation count and the first policy routed to."""
        most = self.db.dialect.greatest("truncated_alerts", "?")
        await self.db.execute(
            f"UPDATE alert_groups SET truncated_alerts = {most}, "  # noqa: S608
            "alert_policy = coalesce(alert_policy, ?), escalation_policy = coalesce(escalation_policy, ?) WHERE id = ?",
            (truncated_alerts, alert_policy, escalation_policy, group_id),
        )

    async def alert_exists(self, group_id: str, dedup_key: str) -> bool:
        row = await self.db.fetch_one(
            "SELECT 1 AS found FROM alerts WHERE group_id = ? AND dedup_key = ?", (group_id, dedup_key)
        )
        return row is not None

    async def put_alert(self, row: Mapping[str, Any]) -> None:
        """Insert the alert, or replace everything but its id for a dedup key the group already has."""
        await self.db.execute(_UPSERT_ALERT, tuple(row[column] for column in ALERT_COLUMNS))

    async def alert_states(self, group_id: str) -> list[Row]:
        """(status, severity, summary) of every alert of the group."""
        return await self.db.fetch_all("SELECT status, severity, summary FROM alerts WHERE group_id = ?", (group_id,))

    async def any_alert(self, group_id: str, statuses: Sequence[str], severity: str | None = None) -> Row | None:
        """(summary, severity) of one alert of the group in one of `statuses` (and of `severity`): an index lookup on
        (group_id, status, severity), so the cost does not grow with the group."""
        marks = ", ".join("?" for _ in statuses)
        sql = f"SELECT summary, severity FROM alerts WHERE group_id = ? AND status IN ({marks})"  # noqa: S608
        args: tuple[str, ...] = (group_id, *statuses)
        if severity is not None:
            sql, args = f"{sql} AND severity = ?", (*args, severity)
        return await self.db.fetch_one(f"{sql} LIMIT 1", args)

    async def presence(self, group_id: str) -> tuple[bool, bool]:
        """Whether any alert of the group fires, and whether any is acknowledged (two index probes, one statement)."""
        row = await self.db.fetch_one(
            "SELECT EXISTS (SELECT 1 FROM alerts WHERE group_id = ? AND status = 'firing') AS firing, "
            "EXISTS (SELECT 1 FROM alerts WHERE group_id = ? AND status = 'acknowledged') AS acknowledged",
            (group_id, group_id),
        )
        assert row is not None
        return bool(row["firing"]), bool(row["acknowledged"])

    async def first_summaries(
        self, group_id: str, statuses: Sequence[str], severities: Sequence[str]
    ) -> list[str | None]:
        """For each severity, the summary of one alert of the group in one of `statuses` (None if there is none):
        one indexed lookup per severity, all in one statement."""
        marks = ", ".join("?" for _ in statuses)
        lookup = f"(SELECT summary FROM alerts WHERE group_id = ? AND status IN ({marks}) AND severity = ? LIMIT 1)"  # noqa: S608
        columns = ", ".join(f"{lookup} AS s{index}" for index in range(len(severities)))
        args = [value for severity in severities for value in (group_id, *statuses, severity)]
        row = await self.db.fetch_one(f"SELECT {columns}", args)
        assert row is not None
        return [row[f"s{index}"] for index in range(len(severities))]

    async def group_status(self, group_id: str) -> str | None:
        row = await self.db.fetch_one("SELECT status FROM alert_groups WHERE id = ?", (group_id,))
        return str(row["status"]) if row is not None else None

    async def summarize_group(
        self, group_id: str, *, status: str, severity: str, summary: str, alert_count: int, now: str
    ) -> None:
        await self.db.execute(
            "UPDATE alert_groups SET status = ?, severity = ?, summary = ?, alert_count = ?, updated_at = ?, "
            "resolved_at = CASE WHEN ? = 'resolved' THEN coalesce(resolved_at, ?) ELSE NULL END WHERE id = ?",
            (status, severity, summary, alert_count, now, status, now, group_id),
        )

    async def set_alert_statuses(self, group_id: str, status: str, *, unless: str, now: str) -> None:
        """Every alert of the group whose status is not `unless` gets `status`."""
        await self.db.execute(
            "UPDATE alerts SET status = ?, updated_at = ? WHERE group_id = ? AND status != ?",
            (status, now, group_id, unless),
        )

    async def page(self, where: GroupFilter, limit: int) -> list[Row]:
        conditions: list[str] = ["1 = 1"]
        args: list[str] = []
        for column, value in (
            ("status", where.status),
            ("integration", where.integration),
            ("alert_policy", where.alert_policy),
        ):
            if value:
                conditions.append(f"{column} = ?")
                args.append(value)
        if where.updated_since is not None:
            conditions.append("updated_at >= ?")
            args.append(where.updated_since)
        if where.after is not None:
            conditions.append("id > ?")
            args.append(where.after)
        sql = f"SELECT * FROM alert_groups WHERE {' AND '.join(conditions)} ORDER BY id LIMIT ?"  # noqa: S608
        return await self.db.fetch_all(sql, (*args, limit))

    async def alerts(self, group_id: str, limit: int | None = None) -> list[Row]:
        """The group's alerts by dedup key."""
        if limit is None:
            return await self.db.fetch_all("SELECT * FROM alerts WHERE group_id = ? ORDER BY dedup_key", (group_id,))
        return await self.db.fetch_all(
            "SELECT * FROM alerts WHERE group_id = ? ORDER BY dedup_key LIMIT ?", (group_id, limit)
        )

    async def alert_by_key(self, integration: str, group_key: str, dedup_key: str) -> Row | None:
        """What an alert last said (summary, severity, details, labels, links, images)."""
        return await self.db.fetch_one(
            "SELECT a.summary, a.severity, a.details, a.labels, a.links, a.images FROM alerts a "
            "JOIN alert_groups g ON g.id = a.group_id WHERE g.integration = ? AND g.group_key = ? AND a.dedup_key = ?",
            (integration, group_key, dedup_key),
        )

    # ---------------------------------------------------------------- tickets of a group

    async def tickets(self, group_id: str) -> dict[str, Any]:
        """The group's tickets by integration name ({} when it has none)."""
        row = await self.db.fetch_one("SELECT ticket FROM alert_groups WHERE id = ?", (group_id,))
        tickets: dict[str, Any] = json.loads(row["ticket"] or "{}") if row is not None else {}
        return tickets

    async def set_ticket(self, group_id: str, integration: str, ticket: Mapping[str, Any]) -> None:
        dialect = self.db.dialect
        await self.db.execute(
            f"UPDATE alert_groups SET ticket = {dialect.json_set('ticket')} WHERE id = ?",  # noqa: S608
            (dialect.member_arg(integration), dumps(ticket), group_id),
        )

    async def set_ticket_error(self, group_id: str, integration: str, error: str) -> None:
        """Record the last delivery error on the group's ticket entry for this integration (created if missing)."""
        tickets = await self.tickets(group_id)
        await self.set_ticket(group_id, integration, {**tickets.get(integration, {}), "last_error": error})

    async def group_of_ticket(self, integration: str, ticket_key: str, correlation_id: str | None) -> Row | None:
        """(id, status) of the group whose ticket in `integration` has this key; or the group whose id is the
        correlation id, if that group holds (or is creating) a ticket of this integration — never another's."""
        dialect = self.db.dialect
        if dialect.postgres:
            key = "(ticket::jsonb -> ? ->> 'key')"
            member = integration
        else:
            key = "json_extract(ticket, ?)"
            member = dialect.member_arg(integration) + ".key"
        sql = f"SELECT id, status FROM alert_groups WHERE {key} = ?"  # noqa: S608
        args: Sequence[Any] = (member, ticket_key)
        if correlation_id:
            holds = dialect.json_has_member("ticket")
            sql += (
                f" OR (id = ? AND ({holds} OR EXISTS (SELECT 1 FROM ticket_jobs j "  # noqa: S608 - dialect constants
                "WHERE j.group_id = alert_groups.id AND j.integration = ? AND j.action = 'create')))"
            )
            args = (*args, correlation_id, dialect.member_arg(integration), integration)
        return await self.db.fetch_one(sql, args)
