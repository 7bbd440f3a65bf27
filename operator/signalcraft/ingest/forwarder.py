"""Drains the spool into the SignalCraft API: one Idempotency-Key per entry, backoff and Retry-After, at least once.

Entries go out strictly in the order they were acknowledged: a firing and the later resolve of the same alert must
reach the API in that order, so a failure blocks the head of the spool (with backoff) instead of being skipped.
An entry is deleted only after the API accepted it; a crash between acceptance and deletion redelivers it under the
same key, which the API answers as a replay, so its effect happens once. Only a refusal of the entry itself (400/413/
422) moves it to the dead letters; a wrong or rotated API key, a missing route or an outage never discards anything.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import Callable
from enum import Enum

from pydantic import BaseModel, ValidationError

from signalcraft.api import SignalCraftClient
from signalcraft.api import errors as api_errors
from signalcraft.api.alerts import AlertEvent
from signalcraft.ingest.metrics import WebhookMetrics
from signalcraft.ingest.spool import Entry, Spool
from signalcraft.supervision import Progress

log = logging.getLogger("signalcraft.webhook.forwarder")
MAX_BACKOFF = 60.0
REFUSED_FOR_GOOD = (400, 413, 422)


class Outcome(Enum):
    ACCEPTED = "accepted"
    DEAD_LETTER = "dead-letter"
    BLOCKED = "blocked"


class AlertEventsBody(BaseModel):
    """A spool entry: the body of `POST /v1/alert-events`, exactly as the webhook acknowledged it."""

    events: list[AlertEvent]


class Forwarder:
    def __init__(
        self,
        spool: Spool,
        connect: Callable[[], SignalCraftClient],
        metrics: WebhookMetrics,
        *,
        batch: int = 50,
        idle: float = 1.0,
        first_backoff: float = 0.5,
    ) -> None:
        """`connect` builds an API client with the current key; it is called again after a 401/403."""
        self.spool = spool
        self.connect = connect
        self.metrics = metrics
        self.batch = batch
        self.idle = idle
        self.first_backoff = first_backoff
        self.failures_in_a_row = 0
        self._api: SignalCraftClient | None = None

    async def run(self, progress: Progress | None = None) -> None:
        """Deliver forever; beat `progress` after every turn (delivered, or a failure handled with backoff).

        Anything unforeseen escapes to the supervisor, which restarts this with backoff; the entries stay.
        """
        try:
            while True:
                try:
                    delay = await self._drain_once()
                except sqlite3.Error as exc:
                    # The spool's disk is in trouble; entries stay where they are and are tried again.
                    self.metrics.delivery_failures.labels("spool").inc()
                    delay = self._backoff(None)
                    log.error("cannot read or update the spool (%s); retrying in %.1fs", exc, delay)
                if delay:
                    await asyncio.sleep(delay)
                if progress is not None:
                    progress.beat()
        finally:
            if self._api is not None:
                await self._api.aclose()
                self._api = None

    async def _drain_once(self) -> float:
        """Deliver the oldest entries in order; return how long to wait before the next attempt."""
        entries = await self.spool.due(self.batch)
        if not entries:
            await self.spool.wait_for_append(self.idle)
            return 0.0
        accepted: list[Entry] = []
        delay = 0.0
        for entry in entries:
            outcome, delay = await self._deliver(entry)
            if outcome is Outcome.ACCEPTED:
                accepted.append(entry)
            elif outcome is Outcome.BLOCKED:
                break
        await self.spool.delivered(accepted)
        self.metrics.delivered.inc(len(accepted))
        return delay

    def _backoff(self, retry_after: float | None) -> float:
        self.failures_in_a_row += 1
        exponential = min(MAX_BACKOFF, self.first_backoff * 2.0 ** min(self.failures_in_a_row - 1, 10))
        jittered = exponential * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not secrecy
        return max(retry_after or 0.0, jittered)

    async def _deliver(self, entry: Entry) -> tuple[Outcome, float]:
        """(what became of `entry`, how long to wait before trying the head of the spool again)."""
        try:
            events = AlertEventsBody.model_validate_json(entry.payload).events
        except ValidationError as exc:
            self.metrics.delivery_failures.labels("rejected").inc()
            await self.spool.dead_letter(entry, f"unreadable spool entry: {exc.error_count()} errors")
            return Outcome.DEAD_LETTER, 0.0
        if self._api is None:
            self._api = self.connect()
        try:
            await self._api.post_alert_events(events, idempotency_key=entry.key)
        except (api_errors.AuthenticationError, api_errors.PermissionDeniedError) as exc:
            # Keep everything: the key may be rotating (the mounted Secret is re-read on the next attempt).
            self.metrics.delivery_failures.labels("unauthorized").inc()
            log.error("the API refused the webhook's key (%s); entries are kept and retried", exc.status)
            await self._api.aclose()
            self._api = None
            return Outcome.BLOCKED, self._backoff(exc.retry_after)
        except api_errors.ApiError as exc:
            if exc.code == "idempotency-key-reused":
                # The API already accepted a request under this key: the entry was delivered before a crash.
                self.failures_in_a_row = 0
                return Outcome.ACCEPTED, 0.0
            if exc.status in REFUSED_FOR_GOOD:
                self.metrics.delivery_failures.labels("rejected").inc()
                log.error("the API refused spool entry %s for good (%s); kept as a dead letter", entry.key, exc)
                await self.spool.dead_letter(entry, str(exc))
                return Outcome.DEAD_LETTER, 0.0
            self.metrics.delivery_failures.labels("transient" if api_errors.is_transient(exc) else "refused").inc()
            delay = self._backoff(exc.retry_after)
            log.warning("delivery of spool entry %s postponed %.1fs: %s", entry.key, delay, exc)
            await self.spool.attempted(entry)
            return Outcome.BLOCKED, delay
        except api_errors.SignalCraftError as exc:
            self.metrics.delivery_failures.labels("transient").inc()
            delay = self._backoff(None)
            log.warning("delivery of spool entry %s postponed %.1fs: %s", entry.key, delay, exc)
            await self.spool.attempted(entry)
            return Outcome.BLOCKED, delay
        self.failures_in_a_row = 0
        return Outcome.ACCEPTED, 0.0
