"""Routing rules over real HTTP: integration traffic matched by conditions, then suppressed, re-graded or routed to an
alert policy (whose escalation policy the group then carries); first match by priority wins."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from tests.contract.helpers import alert_event, groups_of, policy, problem, put, unique
from tests.support.api_server import running_api_server


def rule(admin: httpx.Client, priority: int, items: list[dict[str, Any]], actions: dict[str, Any], **more: Any) -> str:
    name = unique("rr")
    spec = {"priority": priority, "conditions": {"items": items, **more}, "actions": actions}
    put(admin, "routing-rules", name, {"spec": spec}).raise_for_status()
    return name


def test_rules_suppress_regrade_and_route(admin: httpx.Client) -> None:
    integration = unique("am")
    on_this = {"field": "integration.name", "operator": "equals", "value": integration}
    policy_name, _ = policy(admin)
    rules = [
        rule(admin, 10, [on_this, {"field": "summary", "operator": "contains", "value": "noise"}], {"suppress": True}),
        rule(
            admin,
            20,
            [on_this, {"field": "labels", "key": "team", "operator": "in", "value": ["db", "storage"]}],
            {"alert_policy": {"name": policy_name}},
        ),
        rule(
            admin, 30, [on_this, {"field": "dedup_key", "operator": "matches", "value": "^disk-"}], {"severity": "info"}
        ),
    ]
    events = [
        alert_event(integration, "g-noise", "noise-1", summary="just noise"),
        alert_event(integration, "g-db", "db-1", labels={"team": "db"}),
        alert_event(integration, "g-disk", "disk-7"),
        alert_event(integration, "g-other", "other"),
    ]
    accepted = admin.post("/v1/alert-events", json={"events": events})
    assert accepted.json()["accepted"] == 4
    groups = {group["group_key"]: group for group in groups_of(admin, integration)}
    assert set(groups) == {"g-db", "g-disk", "g-other"}, "the noise was suppressed"
    assert groups["g-db"]["alert_policy"] == policy_name
    assert groups["g-db"]["escalation_policy"]
    assert groups["g-db"]["severity"] == "critical", "routed to a policy: the policy's severity"
    assert groups["g-disk"]["severity"] == "info"
    assert groups["g-other"]["severity"] == "warning"
    assert groups["g-other"]["alert_policy"] is None
    blocked = problem(admin.delete(f"/v1/alert-policies/{policy_name}"), 409, "in-use")
    assert blocked["referenced_by"] == [{"collection": "routing-rules", "name": rules[1]}]
    for name in rules:
        assert admin.delete(f"/v1/routing-rules/{name}").status_code == 204


def test_the_first_match_by_priority_wins(admin: httpx.Client) -> None:
    integration = unique("am")
    on_this = {"field": "integration.name", "operator": "equals", "value": integration}
    late = rule(admin, 200, [on_this], {"severity": "critical"})
    early = rule(
        admin, 100, [on_this, {"field": "severity", "operator": "equals", "value": "warning"}], {"severity": "error"}
    )
    either = rule(
        admin,
        50,
        [on_this, {"field": "source", "operator": "starts_with", "value": "zzz"}],
        {"suppress": True},
        match="any",
    )
    admin.post("/v1/alert-events", json={"events": [alert_event(integration, "g", "a")]}).raise_for_status()
    assert groups_of(admin, integration) == [], "match: any — the integration alone matched the suppressing rule"
    admin.delete(f"/v1/routing-rules/{either}").raise_for_status()
    admin.post("/v1/alert-events", json={"events": [alert_event(integration, "g", "a")]}).raise_for_status()
    (group,) = groups_of(admin, integration)
    assert group["severity"] == "error"
    for name in (late, early):
        admin.delete(f"/v1/routing-rules/{name}").raise_for_status()


def test_rule_conditions_are_validated(admin: httpx.Client) -> None:
    cases = [
        ({"field": "labels", "operator": "equals", "value": "x"}, "key"),
        ({"field": "summary", "operator": "in", "value": "x"}, "list"),
        ({"field": "summary", "operator": "exists", "value": "x"}, "no value"),
        ({"field": "summary", "operator": "matches", "value": "(unclosed"}, "regular expression"),
        # what the linear-time engine cannot run is refused when written, not found out while routing
        ({"field": "summary", "operator": "matches", "value": r"(a)\1"}, "regular expression"),
        ({"field": "summary", "operator": "matches", "value": "disk(?=-full)"}, "regular expression"),
    ]
    for condition, reason in cases:
        spec = {"conditions": {"items": [condition]}, "actions": {"suppress": True}}
        body = problem(put(admin, "routing-rules", unique("rr"), {"spec": spec}), 422, "validation-failed")
        assert reason in body["errors"][0]["detail"], body


def test_matches_cannot_freeze_the_server(tmp_path: Path, new_database: Callable[[], str | None]) -> None:
    """`(a|aa)+$` against forty `a` and a `!` backtracks for hours in a backtracking engine; routing answers at once.
    A server of its own: a frozen event loop would take every other test of the module down with it."""
    with running_api_server(tmp_path, database_url=new_database()) as api, api.client() as admin:
        integration = unique("am")
        on_this = {"field": "integration.name", "operator": "equals", "value": integration}
        rule(
            admin, 10, [on_this, {"field": "summary", "operator": "matches", "value": "(a|aa)+$"}], {"severity": "info"}
        )
        events = [
            alert_event(integration, "g-evil", "evil", summary="a" * 40 + "!"),
            alert_event(integration, "g-match", "match", summary="a" * 41),
        ]
        accepted = admin.post("/v1/alert-events", json={"events": events}, timeout=10)
        assert accepted.status_code == 202, accepted.text
        groups = {group["group_key"]: group for group in groups_of(admin, integration)}
        assert groups["g-evil"]["severity"] == "warning", "no match: the event keeps its severity"
        assert groups["g-match"]["severity"] == "info"
        assert httpx.get(f"{api.url}/healthz", timeout=5).status_code == 200
