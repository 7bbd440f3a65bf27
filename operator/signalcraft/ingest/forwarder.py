"""Drains the spool into the SignalCraft API: one Idempotency-Key per entry, backoff and Retry-After, at least once.

An entry is deleted only after the API accepted it (2xx, or a replay of an earlier acceptance); a permanent refusal
moves it to the dead letters. Redelivery after a crash reuses the entry's key, so its effect happens once.
"""

from __future__ import annotations

import asyncio
import logging
import random

from signalcraft.api import SignalCraftClient
from signalcraft.api import errors as api_errors
from signalcraft.ingest.metrics import WebhookMetrics
from signalcraft.ingest.spool import Entry, Spool

log = logging.getLogger("signalcraft.webhook.forwarder")
MAX_BACKOFF = 60.0


class Forwarder:
    def __init__(self, spool: Spool, api: SignalCraftClient, metrics: WebhookMetrics, *, idle: float = 0.2) -> None:
        self.spool = spool
        self.api = api
        self.metrics = metrics
        self.idle = idle
        self.alive = True

    async def run(self) -> None:
        try:
            while True:
                entries = await self.spool.due()
                if not entries:
                    await asyncio.sleep(self.idle)
                    continue
                for entry in entries:
                    await self._deliver(entry)
        finally:
            self.alive = False

    async def _deliver(self, entry: Entry) -> None:
        try:
            await self.api.request(
                "POST",
                "/v1/alert-events",
                content=entry.payload,
                headers={"Idempotency-Key": entry.key, "Content-Type": "application/json"},
            )
        except (api_errors.TransientApiError, api_errors.TransportError) as exc:
            retry_after = exc.retry_after if isinstance(exc, api_errors.ApiError) else None
            backoff = min(MAX_BACKOFF, 0.5 * 2 ** min(entry.attempts, 10)) * random.uniform(0.8, 1.2)  # noqa: S311
            delay = max(retry_after or 0.0, backoff)
            self.metrics.delivery_failures.labels("transient").inc()
            log.warning("delivery of %s postponed %.1fs: %s", entry.key, delay, exc)
            await self.spool.postpone(entry, delay)
        except api_errors.ApiError as exc:
            self.metrics.delivery_failures.labels("rejected").inc()
            log.error("the API refused %s for good (%s); kept as a dead letter", entry.key, exc)
            await self.spool.dead_letter(entry, str(exc))
        else:
            self.metrics.delivered.inc()
            await self.spool.delivered(entry)
