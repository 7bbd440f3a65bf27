"""The Argo CD health check on the status shapes the engine writes (the e2e module checks it on live objects too)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.argocd import health


def resource(generation: int, status: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": "x", "generation": generation}}
    if status is not None:
        body["status"] = status
    return body


def condition(kind: str, status: str, reason: str = "R", generation: int = 1) -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": f"{kind} {reason}",
        "observedGeneration": generation,
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, "Progressing"),
        (
            {"observedGeneration": 0, "conditions": [condition("Ready", "Unknown"), condition("Reconciling", "True")]},
            "Progressing",
        ),
        ({"observedGeneration": 1, "conditions": [condition("Ready", "True"), condition("Synced", "True")]}, "Healthy"),
        (
            {"observedGeneration": 1, "conditions": [condition("Ready", "False"), condition("Stalled", "True")]},
            "Degraded",
        ),
        ({"observedGeneration": 1, "conditions": [condition("Synced", "False", "Suspended")]}, "Suspended"),
        (
            {"observedGeneration": 1, "conditions": [condition("Ready", "False"), condition("Reconciling", "True")]},
            "Progressing",
        ),
        (
            {
                "observedGeneration": 1,
                "conditions": [condition("Ready", "True", "DriftReported"), condition("Synced", "False", "Drifted")],
            },
            "Healthy",
        ),
        ({"observedGeneration": 1, "conditions": [condition("Ready", "True", generation=0)]}, "Progressing"),
    ],
    ids=[
        "no-status",
        "never-reconciled",
        "ready",
        "stalled",
        "suspended",
        "retrying",
        "drift-reported",
        "stale-condition",
    ],
)
def test_health(status: dict[str, Any] | None, expected: str) -> None:
    assert health(resource(1, status))[0] == expected
