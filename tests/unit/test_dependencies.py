"""The dependency index: which objects a Ready reference or a changed Secret nudges, in whatever order events come."""

from __future__ import annotations

from typing import Any

from signalcraft.controllers.alertpolicy import AlertPolicyKind
from signalcraft.controllers.dependencies import DependencyIndex, Nudge
from signalcraft.controllers.escalationpolicy import EscalationPolicyKind
from signalcraft.controllers.integration import IntegrationKind

NS = "team-a"
ANNOTATION = "sync.signalcraft.io/requested-by"
ALERT, ESCALATION, INTEGRATION = AlertPolicyKind(), EscalationPolicyKind(), IntegrationKind()
ESCALATION_SPEC = {"rules": [{"delayMinutes": 0, "targets": [{"type": "user", "name": "ada"}]}]}


def _body(
    name: str,
    spec: dict[str, Any],
    *,
    generation: int = 1,
    ready: bool = False,
    waiting: bool = False,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "True" if ready else "False", "reason": "Synced"}]
    if waiting:
        conditions.append({"type": "ReferencesResolved", "status": "False", "reason": "ReferenceNotReady"})
    return {
        "metadata": {"name": name, "namespace": NS, "generation": generation, "annotations": annotations or {}},
        "spec": spec,
        "status": {"observedGeneration": generation, "conditions": conditions},
    }


def _policy(name: str, target: str = "oncall", **state: Any) -> dict[str, Any]:
    spec = {"severity": "critical", "routingKey": "db", "escalationPolicyRef": {"name": target}}
    return _body(name, spec, **state)


def test_a_reference_becoming_ready_nudges_only_the_dependants_waiting_for_it() -> None:
    index = DependencyIndex(ANNOTATION)
    assert index.observe(ALERT, _policy("waits", waiting=True)) == []
    assert index.observe(ALERT, _policy("synced", ready=True)) == []
    assert index.observe(ALERT, _policy("elsewhere", target="other", waiting=True)) == []

    nudges = index.observe(ESCALATION, _body("oncall", ESCALATION_SPEC, generation=3, ready=True))

    assert nudges == [Nudge("AlertPolicy", NS, "waits", "escalationpolicy-oncall-3")]


def test_a_reference_not_ready_at_its_generation_nudges_nobody() -> None:
    index = DependencyIndex(ANNOTATION)
    index.observe(ALERT, _policy("waits", waiting=True))
    stale = _body("oncall", ESCALATION_SPEC, generation=2, ready=True)
    stale["status"]["observedGeneration"] = 1

    assert index.observe(ESCALATION, stale) == []


def test_a_dependant_seen_after_its_reference_was_ready_is_nudged_once_from_its_own_event() -> None:
    index = DependencyIndex(ANNOTATION)
    index.observe(ESCALATION, _body("oncall", ESCALATION_SPEC, generation=2, ready=True))

    assert index.observe(ALERT, _policy("waits", waiting=True)) == [
        Nudge("AlertPolicy", NS, "waits", "escalationpolicy-oncall-2")
    ]
    # The nudge's own event (annotation written, the object still waiting) does not nudge again.
    nudged = _policy("waits", waiting=True, annotations={ANNOTATION: "escalationpolicy-oncall-2"})
    assert index.observe(ALERT, nudged) == []


def test_a_changed_secret_nudges_every_object_using_it_waiting_or_not() -> None:
    index = DependencyIndex(ANNOTATION)
    credentials = {"hmacSecret": {"secretKeyRef": {"name": "jira", "key": "token"}}}
    index.observe(INTEGRATION, _body("tickets", {"type": "grafana", "credentials": credentials}, ready=True))
    index.observe(INTEGRATION, _body("alerts", {"type": "events-api", "writeConnectionSecretToRef": {"name": "out"}}))
    index.observe(INTEGRATION, _body("plain", {"type": "events-api"}))

    assert index.secret_changed(NS, "jira", "42") == [Nudge("Integration", NS, "tickets", "secret-jira-42")]
    assert index.secret_changed(NS, "out", "7") == [Nudge("Integration", NS, "alerts", "secret-out-7")]
    assert index.secret_changed("team-b", "jira", "42") == []


def test_a_new_generation_moves_the_dependant_and_forgetting_it_removes_it() -> None:
    index = DependencyIndex(ANNOTATION)
    index.observe(ALERT, _policy("waits", target="first", waiting=True))
    index.observe(ALERT, _policy("waits", target="second", generation=2, waiting=True))

    assert index.observe(ESCALATION, _body("first", ESCALATION_SPEC, ready=True)) == []
    assert index.observe(ESCALATION, _body("second", ESCALATION_SPEC, ready=True)) == [
        Nudge("AlertPolicy", NS, "waits", "escalationpolicy-second-1")
    ]

    index.forget(ALERT, NS, "waits")
    assert len(index) == 0
    assert index.observe(ESCALATION, _body("second", ESCALATION_SPEC, generation=2, ready=True)) == []
