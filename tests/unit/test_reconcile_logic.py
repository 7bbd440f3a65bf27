"""Pure parts of the reconcile engine: condition bookkeeping and the spec comparison that drives drift."""

from __future__ import annotations

from signalcraft.controllers.conditions import ConditionType, ConditionUpdate, merge_conditions
from signalcraft.controllers.diff import spec_differences

READY_TRUE = ConditionUpdate(ConditionType.READY, True, "Synced", "in sync")


def test_transition_time_moves_only_when_status_flips() -> None:
    first = merge_conditions([], [READY_TRUE], generation=1, now="2026-01-01T00:00:00Z")
    same = merge_conditions(first, [READY_TRUE], generation=2, now="2026-01-02T00:00:00Z")
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert same[0]["observedGeneration"] == 2
    flipped = merge_conditions(
        same,
        [ConditionUpdate(ConditionType.READY, False, "SyncFailed", "down")],
        generation=2,
        now="2026-01-03T00:00:00Z",
    )
    assert flipped[0]["lastTransitionTime"] == "2026-01-03T00:00:00Z"
    assert flipped[0]["status"] == "False"


def test_conditions_are_upserted_dropped_and_ordered() -> None:
    current = [
        {"type": "Stalled", "status": "True", "reason": "X"},
        {"type": "ManagementConflict", "status": "True", "reason": "Y"},
        {"type": "Custom", "status": "True", "reason": "Z"},
    ]
    merged = merge_conditions(
        current,
        [READY_TRUE, ConditionUpdate(ConditionType.STALLED, False, "Synced")],
        generation=3,
        now="2026-01-01T00:00:00Z",
        drop=[ConditionType.MANAGEMENT_CONFLICT],
    )
    assert [c["type"] for c in merged] == ["Ready", "Stalled", "Custom"]
    assert merged[1]["status"] == "False"


def test_message_is_capped_at_the_kubernetes_limit() -> None:
    huge = ConditionUpdate(ConditionType.READY, False, "SyncFailed", "x" * 40000)
    assert len(merge_conditions([], [huge], generation=1, now="t")[0]["message"]) == 32768


def test_equal_specs_have_no_differences_even_with_server_defaults() -> None:
    desired = {"severity": "critical", "conditions": [{"metric": "cpu", "value": 90}], "escalation_policy": None}
    remote = {
        "severity": "critical",
        "conditions": [{"metric": "cpu", "value": 90.0, "for": None}],
        "escalation_policy": None,
        "server_default": 3,
    }
    assert spec_differences(desired, remote) == []


def test_differences_are_named_by_pointer() -> None:
    desired = {"severity": "critical", "rules": [{"delay_minutes": 0}, {"delay_minutes": 15}], "flag": True}
    remote = {"severity": "info", "rules": [{"delay_minutes": 0}, {"delay_minutes": 30}], "flag": 1}
    assert spec_differences(desired, remote) == ["/severity", "/rules/1/delay_minutes", "/flag"]


def test_list_length_and_cleared_reference_are_differences() -> None:
    assert spec_differences({"rules": [1, 2]}, {"rules": [1]}) == ["/rules"]
    assert spec_differences({"escalation_policy": None}, {"escalation_policy": {"name": "x"}}) == ["/escalation_policy"]
