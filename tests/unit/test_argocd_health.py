"""Argo CD's health check for our kinds (config/argocd/health.lua) in a Lua 5.1 runtime restricted like argocd-cm's.

The main cases are config/argocd/health_test.yaml, in Argo CD's own test layout: status objects captured from the
operator, each with the exact health and message expected. A few hand-made shapes cover what the operator never writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import lua51
from tests.support.argocd import evaluate, health

ARGOCD = Path(__file__).resolve().parents[2] / "config" / "argocd"
CASES = yaml.safe_load((ARGOCD / "health_test.yaml").read_text())["tests"]


@pytest.mark.parametrize("case", CASES, ids=lambda case: Path(case["inputPath"]).stem)
def test_captured_status_objects(case: dict[str, Any]) -> None:
    obj = yaml.safe_load((ARGOCD / case["inputPath"]).read_text())
    assert health(obj) == (case["healthStatus"]["status"], case["healthStatus"]["message"])


def test_every_captured_health_state_is_covered() -> None:
    assert {case["healthStatus"]["status"] for case in CASES} == {"Healthy", "Progressing", "Degraded", "Suspended"}


def resource(generation: int, status: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "signalcraft.io/v1alpha1", "kind": "AlertPolicy"}
    body["metadata"] = {"name": "x", "namespace": "team-a", "generation": generation}
    if status is not None:
        body["status"] = status
    return body


WAITING = ("Progressing", "Waiting for the SignalCraft operator to report status")


def ready(generation: int) -> dict[str, Any]:
    return {"type": "Ready", "status": "True", "reason": "Synced", "message": "", "observedGeneration": generation}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (resource(1, None), WAITING),
        (
            resource(1, {"observedGeneration": 1}),
            WAITING,
        ),
        (
            resource(2, {"observedGeneration": 2, "conditions": [ready(1)]}),
            WAITING,
        ),
        (resource(3, {"conditions": [ready(3)]}), ("Progressing", "The operator has not yet seen generation 3")),
    ],
    ids=["no-status", "no-conditions", "ready-from-an-older-generation", "no-observed-generation"],
)
def test_shapes_the_operator_never_leaves(obj: dict[str, Any], expected: tuple[str, str]) -> None:
    assert health(obj) == expected


def test_the_runtime_lacks_the_libraries_argocd_cm_scripts_lack() -> None:
    plain = lua51.LuaRuntime(register_eval=False, register_builtins=False)
    assert plain.eval("string.format('%s', 'Healthy')") == "Healthy", "a plain runtime has the string library"
    for script in (
        "return { status = string.format('%s', 'Healthy'), message = '' }",
        "return { status = ('Healthy'):lower(), message = '' }",
        "return { status = 'Healthy', message = tostring(math.floor(1.5)) }",
    ):
        with pytest.raises(lua51.LuaError):
            evaluate(script, resource(1, None))
