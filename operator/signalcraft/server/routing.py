"""Routing rules: "if an event from an integration matches these conditions, then do this".

Rules apply to events that arrive through integrations (webhooks, the forwarder's `/v1/alert-events`, and the Events
API with an integration key); an event sent to an alert policy's own routing key is already routed. Rules run by
ascending `priority`, then name, and the first match wins. Its actions may suppress the event, set its severity, or
route it to an alert policy, whose escalation policy (and severity, unless the rule sets one) the alert group then
carries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signalcraft.api import patterns
from signalcraft.api.alerts import AlertEvent
from signalcraft.server.storage import Session, Storage


@dataclass(frozen=True)
class Route:
    """What the first matching rule decided for one event."""

    rule: str
    suppress: bool = False
    severity: str | None = None
    alert_policy: str | None = None
    escalation_policy: str | None = None


@dataclass(frozen=True)
class RoutingTable:
    rules: Sequence[tuple[str, Mapping[str, Any]]]
    """(name, spec) in evaluation order."""
    integration_types: Mapping[str, str]
    policies: Mapping[str, Mapping[str, Any]]
    """Alert policy specs by name and by id, for rules that route to a policy."""

    def route(self, event: AlertEvent) -> Route | None:
        for name, spec in self.rules:
            conditions = spec["conditions"]
            results = (_holds(condition, event, self.integration_types) for condition in conditions["items"])
            if all(results) if conditions.get("match", "all") == "all" else any(results):
                return self._decide(name, spec["actions"])
        return None

    def _decide(self, rule: str, actions: Mapping[str, Any]) -> Route:
        reference = actions.get("alert_policy") or {}
        policy_name = reference.get("name") or reference.get("id")
        policy = self.policies.get(policy_name) if policy_name else None
        if policy is None:
            return Route(rule, suppress=bool(actions.get("suppress")), severity=actions.get("severity"))
        escalation = policy["spec"].get("escalation_policy") or {}
        return Route(
            rule,
            suppress=bool(actions.get("suppress")),
            severity=actions.get("severity") or policy["spec"]["severity"],
            alert_policy=policy["name"],
            escalation_policy=escalation.get("name") or escalation.get("id"),
        )


async def load(db: Storage | Session) -> RoutingTable:
    """The rules as last committed, read without the write lock: events are routed before their transaction starts, so
    no rule, however slow to evaluate, holds up other writers."""
    rules = [(row["name"], json.loads(row["spec"])) for row in await db.resources.routing_rules()]
    if not rules:
        return RoutingTable((), {}, {})
    types = {row["name"]: json.loads(row["spec"])["type"] for row in await db.resources.all_of("integrations")}
    policies: dict[str, Mapping[str, Any]] = {}
    for row in await db.resources.all_of("alert-policies"):
        policy = {"name": row["name"], "spec": json.loads(row["spec"])}
        policies[row["name"]] = policies[row["id"]] = policy
    return RoutingTable(rules, types, policies)


def _field(condition: Mapping[str, Any], event: AlertEvent, integration_types: Mapping[str, str]) -> str | None:
    field = condition["field"]
    if field == "labels":
        return event.labels.get(condition["key"])
    if field == "integration.name":
        return event.integration or None
    if field == "integration.type":
        return integration_types.get(event.integration, event.source)
    value: str = getattr(event, field)
    return value


def _holds(condition: Mapping[str, Any], event: AlertEvent, integration_types: Mapping[str, str]) -> bool:
    observed = _field(condition, event, integration_types)
    operator = condition["operator"]
    expected: Any = condition.get("value")
    if operator == "exists":
        return bool(observed)
    if observed is None:
        return False
    if operator == "in":
        return observed in expected
    if operator == "equals":
        return bool(observed == expected)
    if operator == "contains":
        return expected in observed
    if operator == "starts_with":
        return observed.startswith(expected)
    if operator == "ends_with":
        return observed.endswith(expected)
    return patterns.search(expected, observed)
