"""The enums and bounds other clients validate against are generated from the spec models and committed."""

from __future__ import annotations

import json
from pathlib import Path

from signalcraft.api.constraints import contract_document, contract_limits

REPO = Path(__file__).resolve().parents[2]
PROVIDER_COPY = REPO / "terraform-provider-signalcraft" / "internal" / "provider" / "contract.json"


def test_the_terraform_providers_copy_is_current() -> None:
    assert PROVIDER_COPY.read_text() == contract_document(), (
        "the provider's contract.json is stale: run `make openapi` (or `signalcraft api limits --output "
        "terraform-provider-signalcraft/internal/provider/contract.json`)"
    )


def test_the_document_carries_the_bounds_of_the_models() -> None:
    limits = contract_limits()
    assert limits["escalation-policies.rules[].delay_minutes"] == {"minimum": 0, "maximum": 1440}
    assert limits["escalation-policies.rules[].targets[].type"]["enum"] == ["schedule", "user", "team"]
    assert limits["escalation-policies.rules"] == {"minItems": 1, "maxItems": 20}
    assert limits["users.role"] == {"enum": ["owner", "admin", "responder", "observer"], "default": "responder"}
    assert limits["workspace.notifications.channels"]["default"] == ["email"]
    assert limits["schedules.layers[].rotation_turn_length_seconds"] == {"minimum": 3600, "maximum": 31536000}
    assert limits["routing-rules.conditions.items[].value"]["maxLength"] == 1024
    assert limits["routing-rules.conditions.items[].value[]"]["maxLength"] == 1024
    assert json.loads(contract_document()) == limits
