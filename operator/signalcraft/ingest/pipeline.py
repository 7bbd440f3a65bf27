"""The one ingestion pipeline both front doors run: authenticate → parse → limit → accept.

The API server's `/api/v1/webhooks/<source>` routes and the in-cluster webhook differ only in how they find the
candidate integrations (a webhook token looked up in the API's store; the webhook's configuration file) and in what
"accept" means (grouping at once; a durable spool entry). Everything in between is here, so the two cannot diverge:
the source's own authentication (503 while a credential is unavailable), the strategy's parse, the API's limits
applied before anything is acknowledged (a body too large for one `POST /v1/alert-events` is split into several
batches, each within the limits, one alert group each), and the subscription handshake of sources that have one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from signalcraft.api.alerts import AlertEvent
from signalcraft.api.limits import MAX_EVENTS_PER_BATCH, MAX_REQUEST_BYTES
from signalcraft.ingest.errors import (
    AuthenticationError,
    CredentialsUnavailableError,
    PayloadTooLargeError,
)
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials, SourceStrategy

BATCH_ENVELOPE = len(b'{"events":[]}')
MAX_BATCH_BYTES = MAX_REQUEST_BYTES - BATCH_ENVELOPE - 1024
"""Room for the events of one `POST /v1/alert-events` body, with a margin for the envelope and merging."""


@dataclass(frozen=True)
class Receiver:
    """One integration's strategy for one source; `credentials` is called per request (rotated Secrets)."""

    integration: str
    strategy: SourceStrategy
    credentials: Callable[[], IntegrationCredentials]


@dataclass(frozen=True)
class Batch:
    """Events of one alert group, encoded as the JSON array of a `POST /v1/alert-events` body, within its limits."""

    lane: str
    """Which alert group the events belong to (a hash): entries of one lane are delivered in order."""
    events: bytes
    count: int


@dataclass(frozen=True)
class Accepted:
    receiver: Receiver
    events: list[AlertEvent]
    batches: list[Batch]
    confirmed: str | None = None
    """What a subscription handshake confirmed (an SNS SubscriptionArn), if the request was one."""


async def authenticate(
    candidates: Sequence[Receiver], inbound: InboundRequest
) -> tuple[Receiver, IntegrationCredentials]:
    """The first candidate whose credentials the request proves; 503 when one that might have could not be read."""
    unavailable = False
    for receiver in candidates:
        credentials = receiver.credentials()
        try:
            if receiver.strategy.authenticate_blocks:
                await asyncio.to_thread(receiver.strategy.authenticate, inbound, credentials)
            else:
                receiver.strategy.authenticate(inbound, credentials)
        except CredentialsUnavailableError:
            unavailable = True
            continue
        except AuthenticationError:
            continue
        return receiver, credentials
    if unavailable:
        raise CredentialsUnavailableError("credentials unavailable for this webhook; retry later")
    raise AuthenticationError("missing or wrong credentials for this webhook")


def lane_of(event: AlertEvent) -> str:
    return hashlib.sha256(f"{event.integration}\x00{event.group_key}".encode()).hexdigest()[:16]


_WITHOUT_RAW = {"raw"}


def encoded(event: AlertEvent, inbound: InboundRequest | None = None) -> bytes:
    """The event as the API will receive it; without its raw payload when that alone would break the limits.

    When the raw payload is the request's whole body, and the body is that JSON verbatim, the body's own bytes are
    embedded instead of serializing the parsed document again (the most expensive part of encoding an event).
    """
    serializer = event.__pydantic_serializer__
    if inbound is not None and isinstance(event.raw, dict) and inbound.verbatim and event.raw == inbound.document:
        data = serializer.to_json(event, exclude=_WITHOUT_RAW)[:-1] + b',"raw":' + inbound.body + b"}"
    else:
        data = serializer.to_json(event)
    if len(data) > MAX_BATCH_BYTES and event.raw is not None:
        data = serializer.to_json(event.model_copy(update={"raw": None}))
    if len(data) > MAX_BATCH_BYTES:
        raise PayloadTooLargeError(
            f"one alert is {len(data)} bytes once normalized; the API takes at most {MAX_BATCH_BYTES}"
        )
    return data


def batches(events: Sequence[AlertEvent], inbound: InboundRequest | None = None) -> list[Batch]:
    """The events as batches the API accepts: one alert group per batch, at most MAX_EVENTS_PER_BATCH events and
    MAX_BATCH_BYTES bytes each, in the order the sender gave them (`inbound`: the request they were parsed from)."""
    found: list[Batch] = []
    current: list[bytes] = []
    size = 0
    lane = ""
    lanes: dict[tuple[str, str], str] = {}
    for event in events:
        data = encoded(event, inbound)
        event_lane = lanes.get((event.integration, event.group_key))
        if event_lane is None:
            event_lane = lanes[event.integration, event.group_key] = lane_of(event)
        full = len(current) >= MAX_EVENTS_PER_BATCH or size + len(data) + 1 > MAX_BATCH_BYTES
        if current and (full or event_lane != lane):
            found.append(Batch(lane, b"[" + b",".join(current) + b"]", len(current)))
            current, size = [], 0
        current.append(data)
        size += len(data) + 1
        lane = event_lane
    if current:
        found.append(Batch(lane, b"[" + b",".join(current) + b"]", len(current)))
    return found


def with_labels(events: list[AlertEvent], context: Mapping[str, str]) -> list[AlertEvent]:
    """Context labels (the cluster's name) under each event's own labels."""
    if not context:
        return events
    return [event.model_copy(update={"labels": {**context, **event.labels}}) for event in events]


async def run(
    candidates: Sequence[Receiver], inbound: InboundRequest, *, context: Mapping[str, str] | None = None
) -> Accepted:
    """Authenticate, parse, limit and confirm: what either front door may then acknowledge (IngestError if not)."""
    receiver, credentials = await authenticate(candidates, inbound)
    events = with_labels(receiver.strategy.parse(inbound, receiver.integration), context or {})
    limited = batches(events, inbound)
    confirmed = await receiver.strategy.confirm_subscription(inbound, credentials)
    return Accepted(receiver, events, limited, confirmed)


__all__ = ["MAX_BATCH_BYTES", "Accepted", "Batch", "Receiver", "authenticate", "batches", "run"]
