"""Outbound ticket jobs (create, comment, resolve in Jira or ServiceNow), durable until delivered or given up."""

from __future__ import annotations

from signalcraft.server.storage.engine import Connection, Row


class TicketJobStore:
    def __init__(self, db: Connection) -> None:
        self.db = db

    async def enqueue(self, group_id: str, integration: str, action: str, dedupe: str | None, now: float) -> None:
        """A pending job. With a `dedupe` key already queued: a comment joins the waiting one (its created_at moves
        on), anything else is a no-op, and a job that had failed for good starts afresh."""
        await self.db.execute(
            "INSERT INTO ticket_jobs (group_id, integration, action, dedupe, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (dedupe) DO UPDATE SET created_at = excluded.created_at, state = 'pending', "
            "attempts = CASE WHEN ticket_jobs.state = 'failed' THEN 0 ELSE ticket_jobs.attempts END, "
            "next_attempt_at = CASE WHEN ticket_jobs.state = 'failed' THEN 0 ELSE ticket_jobs.next_attempt_at END "
            "WHERE ticket_jobs.state = 'failed' OR excluded.action = 'comment'",
            (group_id, integration, action, dedupe, now),
        )

    async def claim(self, now: float, lease: float) -> Row | None:
        """The oldest due job, hidden from every other worker for `lease` seconds (it is due again if this worker
        dies). PostgreSQL skips rows another worker is claiming at this moment, so no job is claimed twice."""
        skip = " FOR UPDATE SKIP LOCKED" if self.db.dialect.postgres else ""
        return await self.db.fetch_one(
            "UPDATE ticket_jobs SET next_attempt_at = ? WHERE id = ("  # noqa: S608 - a constant clause
            "SELECT id FROM ticket_jobs WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 1"
            f"{skip}) RETURNING *",
            (now + lease, now),
        )

    async def done(self, job_id: int, created_at: float) -> None:
        """The job as claimed is delivered. If it was asked for again meanwhile (created_at moved on), it stays, due
        now, to deliver the newer state."""
        deleted = await self.db.execute("DELETE FROM ticket_jobs WHERE id = ? AND created_at = ?", (job_id, created_at))
        if deleted.rowcount == 0:
            await self.db.execute("UPDATE ticket_jobs SET next_attempt_at = 0 WHERE id = ?", (job_id,))

    async def retry(self, job_id: int, attempts: int, next_attempt_at: float, error: str) -> None:
        await self.db.execute(
            "UPDATE ticket_jobs SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
            (attempts, next_attempt_at, error, job_id),
        )

    async def fail(self, job_id: int, error: str) -> None:
        await self.db.execute("UPDATE ticket_jobs SET state = 'failed', last_error = ? WHERE id = ?", (error, job_id))

    async def count(self, state: str) -> int:
        row = await self.db.fetch_one("SELECT count(*) AS n FROM ticket_jobs WHERE state = ?", (state,))
        return int(row["n"]) if row is not None else 0
