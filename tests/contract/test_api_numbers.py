"""Numbers at the JSON boundary, numbers and strings echoed as written, and ETags that follow status.

NaN, ±Infinity and integers beyond ±(2^53-1) are refused (422) on every route that reads JSON, before anything is
stored, so no later answer can fail on them. Numbers and strings in a spec come back as written (`90` stays `90`), so a
Terraform plan after apply is empty. A status change (an event received) gives a new ETag: a cached copy is never
stale.
"""

from __future__ import annotations

import json

import httpx
import pytest
from tests.contract.helpers import alert_event, event, problem, unique

UNSAFE = ["NaN", "Infinity", "-Infinity", str(2**53), str(-(2**53)), "1e400", str(10**30)]


def _policy_body(value: str, routing_key: str) -> bytes:
    """The body as text, so that the number is exactly as written (Python's json would not write NaN like this)."""
    condition = '{"type": "metric_threshold", "metric": "cpu", "operator": "gt", "value": ' + value + "}"
    return (
        '{"spec": {"severity": "critical", "routing_key": "' + routing_key + '", "conditions": [' + condition + "]}}"
    ).encode()


@pytest.mark.parametrize("number", UNSAFE)
def test_unsafe_numbers_are_refused_and_everything_keeps_working(admin: httpx.Client, number: str) -> None:
    name, routing_key = unique("pol"), unique("rk")
    refused = admin.put(
        f"/v1/alert-policies/{name}",
        content=_policy_body(number, routing_key),
        headers={"Content-Type": "application/json"},
    )
    body = problem(refused, 422, "unsafe-number")
    assert number.lstrip("-")[:10] in body["detail"] or "not a JSON number" in body["detail"]
    assert admin.get(f"/v1/alert-policies/{name}").status_code == 404
    assert admin.get("/v1/alert-policies").status_code == 200
    # The Events API and the webhook paths refuse them too (a JSON body with any content type).
    pd = json.dumps(event(routing_key)).replace('"warning"}', '"warning", "custom_details": {"x": 1}}')
    pd = pd.replace('{"x": 1}', f'{{"x": {number}}}')
    problem(admin.post("/v1/events", content=pd, headers={"Content-Type": "application/json"}), 422, "unsafe-number")
    batch = json.dumps({"events": [alert_event("none", "g", "d", truncated_alerts=7)]}).replace(": 7", f": {number}")
    problem(admin.post("/v1/alert-events", content=batch, headers={"Content-Type": "text/plain"}), 422, "unsafe-number")


def test_a_safe_policy_still_answers_after_refusals(admin: httpx.Client) -> None:
    name, routing_key = unique("pol"), unique("rk")
    for value in ("90", "-9007199254740991", "9007199254740991", "0.5", "1e3"):
        response = admin.put(
            f"/v1/alert-policies/{name}",
            content=_policy_body(value, routing_key),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code in {200, 201}, response.text
    accepted = admin.post("/v1/events", json=event(routing_key))
    assert accepted.status_code == 202, accepted.text


def test_spec_comes_back_exactly_as_written(admin: httpx.Client) -> None:
    name, routing_key = unique("pol"), unique("rk")
    raw = _policy_body("90", routing_key)
    created = admin.put(f"/v1/alert-policies/{name}", content=raw, headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    written = json.loads(raw)["spec"]
    for response in (created, admin.get(f"/v1/alert-policies/{name}")):
        assert response.json()["spec"] == written
        assert '"value":90}' in response.text.replace(" ", ""), "an integer stays an integer (not 90.0)"
    fractional = admin.put(
        f"/v1/alert-policies/{name}",
        content=_policy_body("90.5", routing_key),
        headers={"Content-Type": "application/json"},
    )
    assert fractional.json()["spec"]["conditions"][0]["value"] == 90.5
    # Every field the client wrote comes back as written; the documented defaults are added beside them.
    escalation, team = unique("esc"), unique("team")
    admin.put(f"/v1/teams/{team}", json={"spec": {}}).raise_for_status()
    spec = {
        "description": " spaced  text ",
        "rules": [{"delay_minutes": 5, "targets": [{"type": "team", "name": team}]}],
    }
    echoed = admin.put(f"/v1/escalation-policies/{escalation}", json={"spec": spec})
    assert echoed.status_code == 201, echoed.text
    assert echoed.json()["spec"] == {**spec, "num_loops": 0}
    assert admin.get(f"/v1/escalation-policies/{escalation}").json()["spec"] == {**spec, "num_loops": 0}


def test_a_status_change_gives_a_new_etag(admin: httpx.Client) -> None:
    name = unique("alertmanager")
    admin.put(f"/v1/integrations/{name}", json={"spec": {"type": "alertmanager"}}).raise_for_status()
    before = admin.get(f"/v1/integrations/{name}")
    etag = before.headers["ETag"]
    assert admin.get(f"/v1/integrations/{name}", headers={"If-None-Match": etag}).status_code == 304
    accepted = admin.post(
        "/v1/alert-events", json={"events": [alert_event(name, "g1", "d1")]}, headers={"Idempotency-Key": unique("k")}
    )
    assert accepted.status_code == 202, accepted.text
    after = admin.get(f"/v1/integrations/{name}", headers={"If-None-Match": etag})
    assert after.status_code == 200, "the status changed: the cached copy is stale"
    assert after.headers["ETag"] != etag
    assert after.json()["status"].get("last_event_received_at")
    assert after.json()["spec"] == before.json()["spec"]
