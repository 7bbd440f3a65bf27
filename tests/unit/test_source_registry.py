"""The registry, the shared credential checks, and a property test over every authentic payload and random bodies."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.payloads import PAYLOADS

from signalcraft.ingest.errors import AuthenticationError, IngestError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.registry import (
    ALERT_SOURCE_NAMES,
    SOURCE_NAMES,
    TICKET_SOURCE_NAMES,
    UnknownSourceError,
    get_strategy,
)

FOLDER_SOURCES = {
    "alertmanager": "alertmanager",
    "grafana": "grafana",
    "azure-monitor": "azure-monitor",
    "gcp-monitoring": "gcp-monitoring",
    "cloudwatch-sns": "aws-cloudwatch",
    "cloudwatch-eventbridge-lambda": "aws-cloudwatch",
    "jira-webhook": "jira",
}


def test_every_source_name_has_its_strategy() -> None:
    assert set(SOURCE_NAMES) == set(ALERT_SOURCE_NAMES) | set(TICKET_SOURCE_NAMES)
    for name in SOURCE_NAMES:
        assert get_strategy(name).name == name
    with pytest.raises(UnknownSourceError, match="nagios"):
        get_strategy("nagios")


def test_every_authentic_inbound_payload_is_understood_by_its_source() -> None:
    refused = {"cloudwatch-eventbridge-lambda/lambda-sns-record-cloudwatch-single-metric-alarm.json"}
    seen = 0
    for folder, source in FOLDER_SOURCES.items():
        for path in sorted((PAYLOADS / folder).glob("*.json")):
            name = f"{folder}/{path.name}"
            if name in refused:
                continue
            settings = {"eventbridge": True} if folder == "cloudwatch-eventbridge-lambda" else {}
            events = get_strategy(source, settings).parse(InboundRequest({}, path.read_bytes()), "all")
            confirmation = "confirmation" in path.name
            assert bool(events) != confirmation, f"{name}: {events}"
            seen += 1
    assert seen == 18


def test_shared_secret_bearer_basic_and_query_token() -> None:
    strategy = get_strategy("alertmanager")
    token = IntegrationCredentials(token="t0ken")
    strategy.authenticate(InboundRequest({"authorization": "Bearer t0ken"}, b"{}"), token)
    strategy.authenticate(InboundRequest({}, b"{}", {"token": "t0ken"}), token)
    for wrong in (
        InboundRequest({"authorization": "Bearer nope"}, b"{}"),
        InboundRequest({}, b"{}", {"token": ""}),
        InboundRequest({}, b"{}", {"auth_token": "t0ken"}),
        InboundRequest({}, b"{}"),
    ):
        with pytest.raises(AuthenticationError) as refused:
            strategy.authenticate(wrong, token)
        assert "t0ken" not in str(refused.value)
    basic = IntegrationCredentials(basic_username="am", basic_password="pw")
    good = base64.b64encode(b"am:pw").decode()
    strategy.authenticate(InboundRequest({"authorization": f"Basic {good}"}, b"{}"), basic)
    for header in ("Basic " + base64.b64encode(b"am:x").decode(), "Basic " + base64.b64encode(b"bob:pw").decode()):
        with pytest.raises(AuthenticationError):
            strategy.authenticate(InboundRequest({"authorization": header}, b"{}"), basic)
    with pytest.raises(AuthenticationError, match="malformed"):
        strategy.authenticate(InboundRequest({"authorization": "Basic %%%"}, b"{}"), basic)


def _cases() -> st.SearchStrategy[tuple[str, bytes]]:
    files = sorted(p for p in PAYLOADS.rglob("*.json") if p.parent.name in FOLDER_SOURCES)
    candidates = [(FOLDER_SOURCES[p.parent.name], p.read_bytes()) for p in files]
    values = st.one_of(
        st.none(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=50),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
        st.booleans(),
    )

    @st.composite
    def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
        source, body = draw(st.sampled_from(candidates))
        document = json.loads(body)
        # Replace a top-level value, then maybe one a level deeper (alerts[0], incident, data, issue, ...).
        key = draw(st.sampled_from(sorted(document)))
        if draw(st.booleans()) and isinstance(document[key], dict) and document[key]:
            inner = draw(st.sampled_from(sorted(document[key])))
            document[key][inner] = draw(values)
        elif draw(st.booleans()) and isinstance(document[key], list) and document[key]:
            document[key][0] = draw(values)
        else:
            document[key] = draw(values)
        return source, json.dumps(document).encode()

    garbage = st.tuples(st.sampled_from(SOURCE_NAMES), st.binary(max_size=200))
    json_garbage = st.tuples(st.sampled_from(SOURCE_NAMES), values.map(lambda value: json.dumps(value).encode()))
    return st.one_of(mutated(), garbage, json_garbage)


@given(case=_cases())
@settings(max_examples=400, suppress_health_check=list(HealthCheck), deadline=None)
def test_mutated_and_random_bodies_never_escape_as_anything_but_an_ingest_error(case: tuple[str, bytes]) -> None:
    source, body = case
    request = InboundRequest({}, body, {"token": "t"})
    refusal: IngestError | None = None
    events = []
    try:
        if source != "aws-cloudwatch":  # its authenticate fetches certificates; covered in test_source_cloudwatch
            get_strategy(source).authenticate(request, IntegrationCredentials(token="t", hmac_secret=None))
        events = get_strategy(source).parse(request, "fuzz")
    except IngestError as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.reason, "every refusal carries a reason"
        assert 400 <= refusal.status_code < 500
    for parsed in events:
        assert parsed.group_key
        assert parsed.dedup_key
        assert parsed.source == source
        json.dumps(parsed.model_dump(mode="json"))
