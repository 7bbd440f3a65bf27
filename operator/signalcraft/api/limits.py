"""Sizes the API promises to accept, declared once for the server, the in-cluster webhook and the client."""

from __future__ import annotations

MAX_REQUEST_BYTES = 2 * 1024 * 1024
"""Any request body of the API (413 above, chunked bodies included)."""

MAX_WEBHOOK_BYTES = 1024 * 1024
"""A monitoring source's webhook body, on the API's webhook routes and on the in-cluster webhook."""

MAX_EVENT_BYTES = 512 * 1024
"""One Events API event: Alertmanager's PagerDuty notifier keeps events under 512 000 bytes; PagerDuty refuses larger
ones."""

MAX_EVENTS_PER_BATCH = 1000
"""AlertEvents in one `POST /v1/alert-events` body."""

MAX_RAW_BYTES = 64 * 1024
"""Raw payloads above this size are kept for audit only as a truncated excerpt (see ``AlertEvent.raw``)."""

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer every JSON parser holds exactly (JavaScript, Go's float64 decoding); larger ones are refused."""
