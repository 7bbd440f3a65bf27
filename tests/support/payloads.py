"""The authentic third-party payloads in tests/fixtures/payloads (provenance in its SOURCES.md) as inbound requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from signalcraft.api.alerts import AlertEvent
from signalcraft.ingest.sources.base import InboundRequest
from signalcraft.ingest.sources.registry import get_strategy

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


def payload_request(
    path: str, headers: dict[str, str] | None = None, query: dict[str, str] | None = None
) -> InboundRequest:
    return InboundRequest(headers or {}, (PAYLOADS / path).read_bytes(), query or {})


def json_request(document: Any, headers: dict[str, str] | None = None) -> InboundRequest:
    return InboundRequest(headers or {}, json.dumps(document).encode())


def parse_payload(source: str, path: str, integration: str = "team-a") -> list[AlertEvent]:
    return get_strategy(source).parse(payload_request(path), integration)
