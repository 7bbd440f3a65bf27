"""Drains the spool into the SignalCraft API: many entries per request, several requests in flight, at least once.

Each entry is one batch of one alert group (its lane). The forwarder merges the oldest entries into one
`POST /v1/alert-events` body, up to the API's limits (events per batch, bytes per request), and keeps `in_flight`
such requests going at once. Order is kept per alert group: an entry is sent only when no older entry of its lane is
waiting or in flight, so a firing and the later resolve of the same alert reach the API in that order, while
different groups may pass each other. A failure blocks only the lanes of its request, which is retried as it was
(same body, same Idempotency-Key) after backoff and Retry-After.

An entry is deleted only after the API accepted it; a crash between acceptance and deletion redelivers it, and the
API's grouping makes the effect happen once. Only a refusal of the entry itself (400/413/422) moves it to the dead
letters — a refused request of several entries is first retried entry by entry, so only the refused one is set
aside. A wrong or rotated API key, a missing route or an outage never discards anything. Whatever else goes wrong
escapes to the supervisor, which restarts the forwarder with backoff.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from signalcraft.api import SignalCraftClient
from signalcraft.api import errors as api_errors
from signalcraft.api.limits import MAX_EVENTS_PER_BATCH
from signalcraft.ingest.metrics import WebhookMetrics
from signalcraft.ingest.pipeline import MAX_BATCH_BYTES
from signalcraft.ingest.spool import Entry, Spool
from signalcraft.supervision import Progress

log = logging.getLogger("signalcraft.webhook.forwarder")
MAX_BACKOFF = 60.0
REFUSED_FOR_GOOD = (400, 413, 422)
SCAN = 512
"""Entries looked at per dispatch; enough to fill several requests past lanes that must wait."""


class Outcome(Enum):
    ACCEPTED = "accepted"
    DEAD_LETTER = "dead-letter"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Request:
    entries: tuple[Entry, ...]

    @property
    def key(self) -> str:
        """The Idempotency-Key: the entry's own for one entry, else derived from the entries (same on a retry)."""
        if len(self.entries) == 1:
            return self.entries[0].key
        digest = hashlib.sha256("\n".join(entry.key for entry in self.entries).encode()).hexdigest()
        return f"batch-{digest[:40]}"

    @property
    def body(self) -> bytes:
        return b'{"events":[' + b",".join(entry.payload[1:-1] for entry in self.entries) + b"]}"

    @property
    def lanes(self) -> set[str]:
        return {entry.lane for entry in self.entries}


def next_request(entries: Sequence[Entry], busy_lanes: set[str]) -> Request | None:
    """The oldest entries that may go now, merged up to the API's limits; None if none may."""
    chosen: list[Entry] = []
    blocked = set(busy_lanes)
    events = size = 0
    for entry in entries:
        if entry.lane in blocked:
            continue  # an older entry of this group is waiting or in flight
        fits = events + entry.events <= MAX_EVENTS_PER_BATCH and size + entry.size <= MAX_BATCH_BYTES
        if not fits:
            if not chosen:
                chosen.append(entry)  # the pipeline kept each entry within the limits: it fits alone
                break
            blocked.add(entry.lane)
            if events >= MAX_EVENTS_PER_BATCH or size >= MAX_BATCH_BYTES * 0.9:
                break
            continue
        chosen.append(entry)
        events += entry.events
        size += entry.size
    return Request(tuple(chosen)) if chosen else None


class Forwarder:
    def __init__(
        self,
        spool: Spool,
        connect: Callable[[], SignalCraftClient],
        metrics: WebhookMetrics,
        *,
        in_flight: int = 4,
        idle: float = 1.0,
        first_backoff: float = 0.5,
        linger: float = 0.05,
        enough_events: int = 200,
    ) -> None:
        """`connect` builds an API client with the current key; it is called again after a 401/403."""
        self.spool = spool
        self.connect = connect
        self.metrics = metrics
        self.in_flight = in_flight
        self.idle = idle
        self.first_backoff = first_backoff
        self.linger = linger
        """While a request is in flight, a small one waits up to this long for more entries to merge."""
        self.enough_events = enough_events
        self.failures_in_a_row = 0
        self._api: SignalCraftClient | None = None
        self._retired: list[SignalCraftClient] = []
        self._busy_lanes: set[str] = set()
        self._busy_ids: set[int] = set()
        self._finished = asyncio.Event()

    async def run(self, progress: Progress | None = None) -> None:
        """Deliver forever; beat `progress` after every request that ended (accepted, refused, or postponed) and
        whenever nothing is due. A request that hangs beats nothing: the supervisor then sees a stall."""
        beat = progress.beat if progress is not None else (lambda: None)
        senders: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        held_since: float | None = None
        try:
            while True:
                for done in [task for task in senders if task.done()]:
                    senders.discard(done)
                    done.result()  # an unforeseen error escapes to the supervisor
                if len(senders) >= self.in_flight:
                    await self._wait_for(senders)
                    continue
                try:
                    entries = await self.spool.due(SCAN, payloads=False)
                except sqlite3.Error as exc:
                    # The spool's disk is in trouble; entries stay where they are and are tried again.
                    self.metrics.delivery_failures.labels("spool").inc()
                    delay = self._backoff(None)
                    log.error("cannot read the spool (%s); retrying in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    beat()
                    continue
                request = next_request([entry for entry in entries if entry.id not in self._busy_ids], self._busy_lanes)
                if request is None:
                    if not entries:
                        beat()  # idle: nothing is due
                    await self._wait_for(senders, appended=True)
                    continue
                if senders and sum(entry.events for entry in request.entries) < self.enough_events:
                    # Others are in flight already: merge more into this one rather than send many small requests
                    # (each costs the API a transaction and us a round trip), but never hold it long.
                    held_since = loop.time() if held_since is None else held_since
                    left = self.linger - (loop.time() - held_since)
                    if left > 0:
                        await self._wait_for(senders, at_most=left)
                        continue
                held_since = None
                self._busy_lanes |= request.lanes
                self._busy_ids |= {entry.id for entry in request.entries}
                senders.add(asyncio.create_task(self._send(request, beat), name="forwarder-send"))
        finally:
            for task in senders:
                task.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
            self._busy_lanes.clear()
            self._busy_ids.clear()
            for client in [*self._retired, *([self._api] if self._api is not None else [])]:
                await client.aclose()
            self._api, self._retired = None, []

    async def _wait_for(
        self, senders: set[asyncio.Task[None]], *, appended: bool = False, at_most: float | None = None
    ) -> None:
        """Until a request ends (or, with `appended`, an entry is stored), at most `at_most` (the idle period)."""
        timeout = self.idle if at_most is None else at_most
        waits: list[asyncio.Future[None]] = list(senders)
        if appended:
            waits.append(asyncio.ensure_future(self.spool.wait_for_append(timeout)))
        if not waits:
            return
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if appended:
            waits[-1].cancel()

    async def _send(self, planned: Request, beat: Callable[[], None]) -> None:
        try:
            request = Request(tuple(await self.spool.load(planned.entries)))
            while request.entries:
                outcome, delay = await self._deliver(request)
                beat()
                if outcome is not Outcome.BLOCKED:
                    return
                await self.spool.attempted(request.entries)
                await asyncio.sleep(delay)
        finally:
            self._busy_lanes -= planned.lanes
            self._busy_ids -= {entry.id for entry in planned.entries}

    def _backoff(self, retry_after: float | None) -> float:
        self.failures_in_a_row += 1
        exponential = min(MAX_BACKOFF, self.first_backoff * 2.0 ** min(self.failures_in_a_row - 1, 10))
        jittered = exponential * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not secrecy
        return max(retry_after or 0.0, jittered)

    def prepare(self) -> None:
        """Build the API client now, before requests arrive: the first one imports the HTTP transport and loads the
        CA bundle, a few hundred milliseconds the event loop would otherwise spend while senders wait. A client that
        cannot be built does not stop the webhook from starting: the forwarder meets the error again, supervised."""
        try:
            self._client()
        except Exception as exc:  # raised again in the forwarder, where the supervisor restarts it
            # Only the kind: a refused header value would put the API key in the message.
            log.error("cannot build the API client yet (%s); the forwarder retries", type(exc).__name__)

    def _client(self) -> SignalCraftClient:
        if self._api is None:
            self._api = self.connect()
        return self._api

    async def _deliver(self, request: Request) -> tuple[Outcome, float]:
        """(what became of the request, how long to wait before sending it again)."""
        api = self._client()
        try:
            response = await api.request(
                "POST",
                "/v1/alert-events",
                content=request.body,
                headers={"Idempotency-Key": request.key, "Content-Type": "application/json"},
            )
            accepted = response.json()["accepted"]
            if not isinstance(accepted, int):
                raise TypeError(f"the API answered {type(accepted).__name__} for accepted")
        except (api_errors.AuthenticationError, api_errors.PermissionDeniedError) as exc:
            # Keep everything: the key may be rotating (the mounted Secret is re-read on the next attempt).
            self.metrics.delivery_failures.labels("unauthorized").inc()
            log.error("the API refused the webhook's key (%s); entries are kept and retried", exc.status)
            if self._api is api:
                self._retired.append(api)
                self._api = None
            return Outcome.BLOCKED, self._backoff(exc.retry_after)
        except api_errors.ApiError as exc:
            if exc.code == "idempotency-key-reused":
                # The API already accepted a request under this key: delivered before a crash.
                await self._done(request, accepted=True)
                return Outcome.ACCEPTED, 0.0
            if exc.status in REFUSED_FOR_GOOD:
                if len(request.entries) > 1:
                    return await self._one_by_one(request)
                (entry,) = request.entries
                self.metrics.delivery_failures.labels("rejected").inc()
                log.error("the API refused spool entry %s for good (%s); kept as a dead letter", entry.key, exc)
                await self.spool.dead_letter(entry, str(exc))
                self.metrics.dead_lettered.inc()
                return Outcome.DEAD_LETTER, 0.0
            self.metrics.delivery_failures.labels("transient" if api_errors.is_transient(exc) else "refused").inc()
            delay = self._backoff(exc.retry_after)
            log.warning("delivery of %d spool entries postponed %.1fs: %s", len(request.entries), delay, exc)
            return Outcome.BLOCKED, delay
        except api_errors.SignalCraftError as exc:
            self.metrics.delivery_failures.labels("transient").inc()
            delay = self._backoff(None)
            log.warning("delivery of %d spool entries postponed %.1fs: %s", len(request.entries), delay, exc)
            return Outcome.BLOCKED, delay
        self.metrics.delivery_requests.inc()
        await self._done(request, accepted=True)
        return Outcome.ACCEPTED, 0.0

    async def _one_by_one(self, request: Request) -> tuple[Outcome, float]:
        """The API refused a merged request: find the refused entry by sending each alone, in order."""
        for entry in request.entries:
            while True:
                outcome, delay = await self._deliver(Request((entry,)))
                if outcome is not Outcome.BLOCKED:
                    break
                await asyncio.sleep(delay)
        return Outcome.ACCEPTED, 0.0

    async def _done(self, request: Request, *, accepted: bool) -> None:
        self.failures_in_a_row = 0
        await self.spool.delivered(request.entries)
        self.metrics.delivered.inc(len(request.entries))
        self.metrics.delivered_alerts.inc(sum(entry.events for entry in request.entries))
