"""User, Team, Schedule, RoutingRule and the EscalationPolicy's references: both mappings, per kind, table-driven."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import ValidationError

from signalcraft.api import specs
from signalcraft.controllers.common import DeletionPolicy
from signalcraft.controllers.kind import ResolvedReference
from signalcraft.controllers.registry import BY_KIND
from signalcraft.controllers.routingrule import ConditionField, ConditionOperator

NS = "team-a"

ROUND_TRIPS: list[tuple[str, dict[str, Any]]] = [
    ("User", {"email": "ada@example.com", "role": "admin", "time_zone": "Europe/Berlin"}),
    (
        "Team",
        {
            "description": "dba",
            "members": [{"user": "team-a.ada", "role": "manager"}, {"user": "bo", "role": "member"}],
        },
    ),
    (
        "Schedule",
        {
            "time_zone": "UTC",
            "handoff_notifications": "always",
            "layers": [
                {
                    "name": "w",
                    "start": "2026-01-05T08:00:00Z",
                    "rotation_turn_length_seconds": 604800,
                    "users": ["a", "b"],
                }
            ],
        },
    ),
    (
        "RoutingRule",
        {
            "priority": 5,
            "conditions": {
                "match": "any",
                "items": [
                    {"field": "labels", "key": "team", "operator": "equals", "value": "db"},
                    {"field": "severity", "operator": "in", "value": ["critical"]},
                    {"field": "summary", "operator": "exists"},
                ],
            },
            "actions": {"severity": "warning", "suppress": False},
        },
    ),
    (
        "EscalationPolicy",
        {
            "rules": [
                {"delay_minutes": 0, "targets": [{"type": "schedule", "name": "s"}, {"type": "user", "id": "usr_1"}]}
            ]
        },
    ),
]


@pytest.mark.parametrize(("kind_name", "api_spec"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_api_spec_to_manifest_and_back_is_the_same_object(kind_name: str, api_spec: dict[str, Any]) -> None:
    kind = BY_KIND[kind_name]
    parsed = kind.parse_spec(kind.manifest_spec(api_spec, NS))
    desired = kind.desired(parsed, {}).spec
    assert desired == kind.api_spec_model.model_validate(api_spec).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )


REFERENCES: list[tuple[str, dict[str, Any], list[str], dict[str, Any]]] = [
    (
        "Team",
        {"members": [{"userRef": {"name": "ada"}, "role": "manager"}, {"name": "outside"}]},
        ["User ada"],
        {"members": [{"user": "team-a.ada", "role": "manager"}, {"user": "outside", "role": "member"}]},
    ),
    (
        "Schedule",
        {
            "layers": [
                {
                    "name": "w",
                    "start": "2026-01-05T08:00:00Z",
                    "rotationTurnLengthSeconds": 3600,
                    "users": [{"userRef": {"name": "ada"}}, {"name": "bo"}],
                }
            ]
        },
        ["User ada"],
        {
            "layers": [
                {
                    "name": "w",
                    "start": "2026-01-05T08:00:00Z",
                    "rotation_turn_length_seconds": 3600,
                    "users": ["team-a.ada", "bo"],
                }
            ]
        },
    ),
    (
        "EscalationPolicy",
        {
            "rules": [
                {
                    "delayMinutes": 0,
                    "targets": [
                        {"scheduleRef": {"name": "s"}},
                        {"teamRef": {"name": "t"}},
                        {"userRef": {"name": "u"}},
                        {"type": "user", "name": "x"},
                    ],
                }
            ]
        },
        ["Schedule s", "Team t", "User u"],
        {
            "rules": [
                {
                    "delay_minutes": 0,
                    "targets": [
                        {"type": "schedule", "name": "team-a.s"},
                        {"type": "team", "name": "team-a.t"},
                        {"type": "user", "name": "team-a.u"},
                        {"type": "user", "name": "x"},
                    ],
                }
            ]
        },
    ),
    (
        "RoutingRule",
        {
            "conditions": {"items": [{"field": "summary", "operator": "exists"}]},
            "actions": {"alertPolicyRef": {"name": "p"}},
        },
        ["AlertPolicy p"],
        {"actions": {"alert_policy": {"name": "team-a.p"}, "suppress": False}},
    ),
]


@pytest.mark.parametrize(("kind_name", "spec", "names", "expected"), REFERENCES, ids=[r[0] for r in REFERENCES])
def test_references_are_found_and_resolved_to_signalcraft_names(
    kind_name: str, spec: dict[str, Any], names: list[str], expected: dict[str, Any]
) -> None:
    kind = BY_KIND[kind_name]
    parsed = kind.parse_spec(spec)
    references = kind.references(parsed)
    assert [f"{ref.kind} {ref.name}" for ref in references] == names
    resolved = {ref.field_path: ResolvedReference(ref, f"{NS}.{ref.name}") for ref in references}
    desired = kind.desired(parsed, resolved).spec
    for key, value in expected.items():
        assert desired[key] == value


INVALID: list[tuple[str, dict[str, Any]]] = [
    ("Team", {"members": [{"userRef": {"name": "a"}, "name": "a"}]}),
    ("Team", {"members": [{"role": "member"}]}),
    ("EscalationPolicy", {"rules": [{"delayMinutes": 0, "targets": [{"scheduleRef": {"name": "s"}, "type": "user"}]}]}),
    (
        "EscalationPolicy",
        {"rules": [{"delayMinutes": 0, "targets": [{"userRef": {"name": "u"}, "teamRef": {"name": "t"}}]}]},
    ),
    ("EscalationPolicy", {"rules": [{"delayMinutes": 0, "targets": [{"type": "user"}]}]}),
    ("User", {"email": "not-an-address"}),
]


@pytest.mark.parametrize(("kind_name", "spec"), INVALID, ids=[f"{r[0]}-{i}" for i, r in enumerate(INVALID)])
def test_the_models_refuse_what_the_cel_rules_refuse(kind_name: str, spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BY_KIND[kind_name].parse_spec(spec)


def test_users_are_orphaned_by_default_everything_else_deleted() -> None:
    assert BY_KIND["User"].parse_spec({"email": "a@b.co"}).deletion_policy is DeletionPolicy.ORPHAN
    assert BY_KIND["Team"].parse_spec({}).deletion_policy is DeletionPolicy.DELETE


def test_routing_condition_literals_are_the_contracts() -> None:
    assert get_args(ConditionField) == get_args(specs.RoutingCondition.model_fields["field"].annotation)
    assert get_args(ConditionOperator) == get_args(specs.RoutingCondition.model_fields["operator"].annotation)
