"""How kstatus (sigs.k8s.io/cli-utils, what Flux's wait/healthChecks and `helm --wait` use) reads the status objects
captured from the operator (config/argocd/testdata), through the Go helper built from tools/kstatus."""

from __future__ import annotations

from pathlib import Path

import yaml
from tests.support.kstatus import kstatus

TESTDATA = Path(__file__).resolve().parents[2] / "config" / "argocd" / "testdata"

EXPECTED = {
    # Current only once the operator has seen this generation and reports Ready=True.
    "alertpolicy-ready": "Current",
    "escalationpolicy-ready": "Current",
    "integration-ready": "Current",
    "alertpolicy-drift-reported": "Current",
    # The schema-defaulted status (observedGeneration 0) keeps a fresh object from passing as done.
    "alertpolicy-never-reconciled": "InProgress",
    "alertpolicy-generation-not-observed": "InProgress",
    "alertpolicy-waiting-for-references": "InProgress",
    "alertpolicy-retrying": "InProgress",
    # Suspending keeps the Ready the last sync established: a Flux wait does not hang on a paused object.
    "alertpolicy-suspended": "Current",
    # Stalled=True: Flux fails fast instead of waiting for its timeout.
    "alertpolicy-management-conflict": "Failed",
    "escalationpolicy-deletion-blocked": "Terminating",
}


def test_kstatus_of_every_captured_status_object() -> None:
    names = sorted(path.stem for path in TESTDATA.glob("*.yaml"))
    assert names == sorted(EXPECTED), "every captured object has an expected kstatus"
    objects = [yaml.safe_load((TESTDATA / f"{name}.yaml").read_text()) for name in names]
    assert dict(zip(names, kstatus(*objects), strict=True)) == EXPECTED
